"""Domain errors: each carries text that is safe to show to the user as a tool error (English,
a catalogue message: the tools show it in the user's language)."""

from __future__ import annotations

from mcpserver.messages import N_


class DomainError(Exception):
    """An expected failure; ``str(error)`` is safe, specific text for the user."""


class SlotUnavailable(DomainError):
    def __init__(self) -> None:
        super().__init__(N_("This slot is no longer available. Search again for another one."))

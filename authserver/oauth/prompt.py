"""What an authorization request needs before a code can be issued: nothing, a login, or the
user's consent. One rule per check; `prompt` is parsed here and nowhere else."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Need = Literal["none", "login", "consent"]


@dataclass(frozen=True)
class Prompt:
    """The request's `prompt` values (OpenID Connect Core 1.0 section 3.1.2.1)."""

    values: frozenset[str]

    @classmethod
    def parse(cls, raw: str | None) -> Prompt:
        return cls(frozenset((raw or "").split()))

    @property
    def login(self) -> bool:
        """prompt=login: authenticate again, even with a live session."""
        return "login" in self.values

    @property
    def consent(self) -> bool:
        """prompt=consent: ask, even if everything was allowed before."""
        return "consent" in self.values

    @property
    def none(self) -> bool:
        """prompt=none: show no page at all; an error if one would be needed (3.1.2.6)."""
        return "none" in self.values


@dataclass(frozen=True)
class Decision:
    need: Need
    reason: str
    # Stored on the interaction row, so that the pages never read `prompt` again.
    force_login: bool
    force_consent: bool
    # prompt=none and a page is needed: the OpenID Connect Core 3.1.2.6 error to redirect with.
    error: str | None


def decide(
    prompt: Prompt, *, logged_in: bool, on_device: bool, remembered: Callable[[], bool]
) -> Decision:
    """``on_device``: the client is public and this request's redirect URI goes to an
    application on the user's device (a loopback address or a private-use scheme).
    ``remembered``: whether this account allowed everything asked before (or an admin did);
    asked only when no earlier rule decides, since it reads the store."""
    need, reason = _need(prompt, logged_in=logged_in, on_device=on_device, remembered=remembered)
    error = None
    if prompt.none and need != "none":
        error = "login_required" if need == "login" else "consent_required"
    return Decision(
        need,
        reason,
        force_login=prompt.login,
        # The login page decides again once the user is known: it must not skip the click.
        force_consent=prompt.consent or on_device,
        error=error,
    )


def _need(
    prompt: Prompt, *, logged_in: bool, on_device: bool, remembered: Callable[[], bool]
) -> tuple[Need, str]:
    # OAuth 2.1 section 4.1.1: the authorization server authenticates the resource owner.
    if not logged_in:
        return "login", "nobody is logged in in this browser"
    # OpenID Connect Core 1.0 section 3.1.2.1: prompt=login asks for a fresh login.
    if prompt.login:
        return "login", "the client asked for a fresh login (prompt=login)"
    # OpenID Connect Core 1.0 section 3.1.2.1: prompt=consent asks again.
    if prompt.consent:
        return "consent", "the client asked for consent again (prompt=consent)"
    # RFC 8252 section 8.6: any program on the device can send a native public client's id with
    # its own loopback port or private-use scheme, and no secret tells them apart; only the
    # user, who knows whether they started this, can. Remembered and admin consent do not apply.
    if on_device:
        return "consent", "a public client's answer goes to this device (RFC 8252 8.6)"
    # OAuth 2.1 section 4.1.1 and RFC 9700 section 4.15: the user approves what is new.
    if not remembered():
        return "consent", "this access was not allowed before"
    return "none", "logged in, and everything asked for was allowed before"

"""Remembered consent: what an authorization request would grant, what of it is new, and the
decision taken for the user when nothing is new (OAuth 2.1 section 4.1.1, the user's consent)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from authserver.audit import Audit
from authserver.models import Account, Interaction
from shared import scopes


class ConsentStore(Protocol):
    """The part of the store consent memory uses."""

    def remembered_scopes(self, account_id: str, client_id: str, resource: str) -> set[str]: ...

    def decide_interaction(
        self, interaction_id: str, account_id: str, decision: str, now: int,
        amr: str, auth_time: int,
    ) -> bool: ...


@dataclass(frozen=True)
class Consent:
    # What the request grants this account (its role may hold only some of what was asked;
    # the rest is left out, and never shown: a patient reads nothing of staff permissions).
    granted: list[str]
    # Granted scopes this account has not allowed this client before, for this resource.
    new: list[str]

    @property
    def remembered(self) -> bool:
        """Everything was allowed before: no consent page is needed."""
        return bool(self.granted) and not self.new


def consent_for(
    store: ConsentStore, account: Account, client_id: str, resource: str, scope: str
) -> Consent:
    requested = scopes.parse(scope)
    granted = scopes.allowed_for_role(requested, account.role)
    remembered = store.remembered_scopes(account.id, client_id, resource)
    return Consent(
        granted=granted,
        new=[name for name in granted if name not in remembered],
    )


def record_decision(
    audit: Audit, interaction: Interaction, account: Account, event: str, ip: str | None
) -> None:
    """Audit a consent decision, with the scopes it grants this account's role."""
    granted = scopes.allowed_for_role(scopes.parse(interaction.scope), account.role)
    audit.record(
        event,
        actor=account.id,
        client_id=interaction.client_id,
        ip=ip,
        scope=scopes.join(granted),
    )


def allow_remembered(
    store: ConsentStore,
    audit: Audit,
    clock: Callable[[], int],
    interaction: Interaction,
    account: Account,
    ip: str | None,
    signed_in: tuple[str, int],
) -> None:
    """Decide for the user what they (or an admin) allowed before; audited as such.
    ``signed_in``: how the user signed in, amr and auth_time."""
    store.decide_interaction(interaction.id, account.id, "allow", clock(), *signed_in)
    record_decision(audit, interaction, account, "consent.remembered", ip)

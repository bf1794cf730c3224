"""Consent memory: what an authorization request would grant, and what of it is new."""

from __future__ import annotations

from dataclasses import dataclass

from authserver.context import AppContext
from authserver.models import Account
from shared import scopes


@dataclass(frozen=True)
class Consent:
    # What the request grants this account (its role may hold only some of what was asked).
    granted: list[str]
    # Granted scopes this account has not allowed this client before, for this resource.
    new: list[str]
    # Asked for, but not available to this account's role.
    unavailable: list[str]

    @property
    def remembered(self) -> bool:
        """Everything was allowed before: no consent page is needed."""
        return bool(self.granted) and not self.new


def consent_for(
    context: AppContext, account: Account, client_id: str, resource: str, scope: str
) -> Consent:
    requested = scopes.parse(scope)
    granted = scopes.allowed_for_role(requested, account.role)
    remembered = context.oauth.store.remembered_scopes(account.id, client_id, resource)
    return Consent(
        granted=granted,
        new=[name for name in granted if name not in remembered],
        unavailable=[name for name in requested if name not in granted],
    )

"""Consent memory: what an authorization request would grant, and what of it is new."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from authserver.context import Context, get_context
from authserver.interactions.browser import client_ip
from authserver.models import Account, Interaction
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
    context: Context, account: Account, client_id: str, resource: str, scope: str
) -> Consent:
    requested = scopes.parse(scope)
    granted = scopes.allowed_for_role(requested, account.role)
    remembered = context.store.remembered_scopes(account.id, client_id, resource)
    return Consent(
        granted=granted,
        new=[name for name in granted if name not in remembered],
        unavailable=[name for name in requested if name not in granted],
    )


async def record_decision(
    request: Request, interaction: Interaction, account: Account, event: str
) -> None:
    """Audit a consent decision, with the scopes it grants this account's role."""
    granted = scopes.allowed_for_role(scopes.parse(interaction.scope), account.role)
    await run_in_threadpool(
        get_context(request).audit.record,
        event,
        actor=account.id,
        client_id=interaction.client_id,
        ip=client_ip(request),
        scope=scopes.join(granted),
    )


async def allow_remembered(request: Request, interaction: Interaction, account: Account) -> None:
    """Decide for the user what they (or an admin) allowed before; audited as such."""
    context = get_context(request)
    await run_in_threadpool(
        context.store.decide_interaction,
        interaction.id,
        account.id,
        "allow",
        context.clock(),
    )
    await record_decision(request, interaction, account, "consent.remembered")

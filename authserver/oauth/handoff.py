"""The hand-off between the engine and the pages: one interaction row per authorization request
that needs the user, started here, answered by the pages, finished here exactly once."""

from __future__ import annotations

from typing import Protocol

from authserver.models import Account, Interaction
from authserver.oauth.grants import SignedIn
from authserver.oauth.prompt import Decision
from authserver.oauth.server import PendingAuthorization
from authserver.oauth.services import Services
from authserver.security import new_id
from shared import scopes


class InteractionStore(Protocol):
    def add_interaction(self, interaction: Interaction) -> None: ...
    def complete_interaction(self, interaction_id: str, now: int) -> Interaction | None: ...
    def account(self, account_id: str) -> Account | None: ...


def start(
    services: Services, pending: PendingAuthorization, decision: Decision, browser_id: str
) -> Interaction:
    """Store the validated request, bound to this browser, with what the pages must do."""
    now = services.clock()
    interaction = Interaction(
        id=new_id("int"),
        client_id=pending.client_id,
        params=pending.params,
        scope=scopes.join(pending.scope),
        resource=pending.resource,
        browser_binding=services.keys.browser_binding(browser_id),
        created_at=now,
        expires_at=now + services.settings.interaction_ttl,
        force_login=decision.force_login,
        force_consent=decision.force_consent,
    )
    services.store.add_interaction(interaction)
    return interaction


def finish(
    store: InteractionStore, interaction_id: str, now: int
) -> tuple[dict[str, str], SignedIn | None] | None:
    """Take the answered interaction (once): the request exactly as consented, and the account
    to issue a code for with how it signed in (None: access_denied). None: already finished,
    or never answered."""
    completed = store.complete_interaction(interaction_id, now)
    if completed is None or completed.account_id is None:
        return None
    signed_in = None
    if completed.decision == "allow":
        account = store.account(completed.account_id)
        if account is not None and not account.disabled:
            signed_in = SignedIn(account, completed.amr or "pwd", completed.auth_time or now)
    # Exactly what was consented (or remembered): the scope and resource as resolved when the
    # request arrived, not what the client's registration says by now.
    consented = {**completed.params, "scope": completed.scope, "resource": completed.resource}
    return consented, signed_in

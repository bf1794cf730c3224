"""Personal access tokens: what one may hold and how one is issued, for the account page and for
the service API that HospiAI's web application calls on a user's behalf."""

from __future__ import annotations

from dataclasses import dataclass

from authserver.context import Context
from authserver.messages import N_
from authserver.models import PERSONAL_CLIENT_ID, AccessToken, Grant
from authserver.security import new_id, new_secret
from shared import scopes

MAX_TOKEN_DAYS = 365
MAX_NAME_LENGTH = 100
# Shown in the list so the user can tell tokens apart; far too short to be guessed from.
PREFIX_LENGTH = len("hospiai_pat_") + 4
# The values token_problem's messages name.
LIMITS = {"max_name": MAX_NAME_LENGTH, "max_days": MAX_TOKEN_DAYS}


def token_scopes(role: str) -> list[scopes.Scope]:
    """What a personal token may carry: every scope the role may hold but offline_access."""
    names = [name for name in scopes.NAMES if name != "offline_access"]
    return [scopes.BY_NAME[name] for name in scopes.allowed_for_role(names, role)]


@dataclass(frozen=True)
class TokenRequest:
    name: str
    scope: list[str]
    resource: str
    days: int | None


def token_problem(wanted: TokenRequest, role: str) -> str | None:
    """What is wrong with the request, in the user's words (the resource is checked apart): a
    catalogue message naming LIMITS, which the account page shows in the user's language and
    the service API in English (its JSON errors are for developers)."""
    allowed = {scope.name for scope in token_scopes(role)}
    if not wanted.name or len(wanted.name) > MAX_NAME_LENGTH:
        return N_("Give the token a name of 1 to %(max_name)s characters.")
    if not wanted.scope or not set(wanted.scope) <= allowed:
        return N_("Choose at least one of the permissions listed.")
    if wanted.days is None or not 1 <= wanted.days <= MAX_TOKEN_DAYS:
        return N_("The expiry must be between 1 and %(max_days)s days.")
    return None


def issue_token(
    context: Context, account_id: str, wanted: TokenRequest
) -> tuple[str, Grant, AccessToken]:
    """Store a personal grant and its one access token (by hash); returns the secret with
    them."""
    now, secret = context.clock(), new_secret("pat")
    assert wanted.days is not None  # checked by token_problem
    grant = Grant(
        id=new_id("grant"),
        account_id=account_id,
        client_id=PERSONAL_CLIENT_ID,
        scope=scopes.join(wanted.scope),
        resource=wanted.resource,
        created_at=now,
        name=wanted.name,
        token_prefix=secret[:PREFIX_LENGTH],
    )
    token = AccessToken(
        token_hash=context.keys.hash_secret(secret),
        grant_id=grant.id,
        client_id=PERSONAL_CLIENT_ID,
        account_id=account_id,
        scope=grant.scope,
        resource=wanted.resource,
        issued_at=now,
        expires_at=now + wanted.days * 86400,
    )
    context.store.issue_personal_token(grant, token)
    return secret, grant, token

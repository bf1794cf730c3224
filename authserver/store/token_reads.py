"""The shapes of the token store's two hot reads, compiled once: introspection (RFC 7662, the
path every resource-server cache miss lands on) and the refresh grant's read of its token, with
what each checks of the grant, the client and the account in the same query."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import Select, and_, bindparam
from sqlalchemy import select as select_columns
from sqlmodel import col

from authserver.models import AccessToken, Account, Client, Grant, RefreshToken, ResourceServer
from authserver.models.clients import secret_holds


class LiveToken(NamedTuple):
    grant_id: str
    grant_last_used_at: int | None
    client_id: str
    scope: str
    resource: str
    issued_at: int
    expires_at: int
    account_id: str
    email: str
    given_name: str
    family_name: str
    role: str
    # How the user signed in for the grant's latest authorization (none: not recorded).
    amr: str | None
    auth_time: int | None


class Introspected(NamedTuple):
    caller_secret_hash: str
    caller_resource: str
    # None: no access token with that hash is live for the caller's resource.
    token: LiveToken | None
    # The secret a rotation with a grace period replaced, and until when it still works.
    caller_previous_secret_hash: str | None = None
    caller_previous_until: int | None = None

    def authenticates(self, secret_hash: str, now: int) -> bool:
        return secret_holds(
            secret_hash, self.caller_secret_hash, self.caller_previous_secret_hash,
            self.caller_previous_until, now,
        )


# The calling resource server, then the token and what keeps it live, each left-joined only if
# live; flat joins, because SQLite materializes a nested one (twice the cost on the hot path).
INTROSPECTION: Select[*tuple[Any, ...]] = (
    select_columns(
        col(ResourceServer.secret_hash),
        col(ResourceServer.resource),
        col(ResourceServer.previous_secret_hash),
        col(ResourceServer.previous_secret_until),
        col(Client.client_id),
        col(Grant.id),
        col(Grant.last_used_at),
        col(AccessToken.client_id),
        col(AccessToken.scope),
        col(AccessToken.resource),
        col(AccessToken.issued_at),
        col(AccessToken.expires_at),
        col(Account.id),
        col(Account.email),
        col(Account.given_name),
        col(Account.family_name),
        col(Account.role),
        col(Grant.amr),
        col(Grant.auth_time),
    )
    .select_from(ResourceServer)
    .outerjoin(
        AccessToken,
        and_(
            col(AccessToken.token_hash) == bindparam("token_hash"),
            col(AccessToken.resource) == col(ResourceServer.resource),
            col(AccessToken.expires_at) > bindparam("now"),
            col(AccessToken.revoked_at).is_(None),
        ),
    )
    .outerjoin(
        Grant, and_(col(Grant.id) == col(AccessToken.grant_id), col(Grant.revoked_at).is_(None))
    )
    .outerjoin(
        Client,
        and_(col(Client.client_id) == col(AccessToken.client_id), col(Client.blocked).is_(False)),
    )
    .outerjoin(
        Account,
        and_(col(Account.id) == col(AccessToken.account_id), col(Account.disabled).is_(False)),
    )
    .where(col(ResourceServer.id) == bindparam("caller_id"))
)


class LiveRefreshToken(NamedTuple):
    """A refresh token with what the refresh grant checks of its grant and account."""

    token_hash: str
    grant_id: str
    client_id: str
    account_id: str
    scope: str
    resource: str
    issued_at: int
    expires_at: int
    spent_at: int | None
    replay: bytes | None
    # None: the grant is revoked (or gone).
    live_grant_id: str | None
    # None: the account is disabled (or gone).
    account_role: str | None


# The refresh grant's one read: the token, its grant if live, its account if active.
REFRESH_TOKEN: Select[*tuple[Any, ...]] = (
    select_columns(
        col(RefreshToken.token_hash),
        col(RefreshToken.grant_id),
        col(RefreshToken.client_id),
        col(RefreshToken.account_id),
        col(RefreshToken.scope),
        col(RefreshToken.resource),
        col(RefreshToken.issued_at),
        col(RefreshToken.expires_at),
        col(RefreshToken.spent_at),
        col(RefreshToken.replay),
        col(Grant.id),
        col(Account.role),
    )
    .select_from(RefreshToken)
    .outerjoin(
        Grant, and_(col(Grant.id) == col(RefreshToken.grant_id), col(Grant.revoked_at).is_(None))
    )
    .outerjoin(
        Account,
        and_(col(Account.id) == col(RefreshToken.account_id), col(Account.disabled).is_(False)),
    )
    .where(col(RefreshToken.token_hash) == bindparam("token_hash"))
)



def live_refresh_token_from(row: tuple[Any, ...] | None) -> LiveRefreshToken | None:
    if row is None:
        return None
    token = LiveRefreshToken(*row)
    # A driver may hand binary columns back as a memoryview.
    return token if token.replay is None else token._replace(replay=bytes(token.replay))


def introspected_from(row: tuple[Any, ...] | None) -> Introspected | None:
    if row is None:
        return None
    secret_hash, resource, previous_hash, previous_until, client_id, *columns = row
    token = LiveToken(*columns)
    live = None not in (client_id, token.grant_id, token.account_id)
    return Introspected(
        secret_hash, resource, token if live else None, previous_hash, previous_until
    )

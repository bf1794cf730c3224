"""The only module that issues SQL. Methods are named for their intent; single use is atomic.

Every consuming operation (a code, a refresh token, an interaction) is a conditional UPDATE
whose row count says who won, so it stays correct with several replicas on one database.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import Engine, Select, and_, bindparam, or_
from sqlalchemy import select as select_columns
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, delete, func, select, update

from authserver.models import (
    PERSONAL_CLIENT_ID,
    AccessToken,
    Account,
    AuditEvent,
    AuthorizationCode,
    Client,
    Grant,
    Interaction,
    LoginAttempt,
    RefreshToken,
    ResourceServer,
)
from shared import scopes
from shared.database import SQLStore

# What a client's metadata document sets; the rest of the row is this server's own record.
_DOCUMENT_COLUMNS = (
    "client_name", "token_endpoint_auth_method", "redirect_uris", "grant_types",
    "response_types", "scope", "extra_metadata", "metadata_expires_at",
)


# Each retry of `Store.issue_code` means another writer changed the grant first: widened it
# (its scope only grows, so at most once per scope in the catalogue), created it, or revoked it.
_GRANT_ATTEMPTS = 2 * len(scopes.NAMES) + 2


class DuplicateError(Exception):
    """A row with the same unique key already exists."""


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


class RecentAttempts(NamedTuple):
    """Times of the newest login attempts inside the window, newest first, the new one
    included: on the same email key, and from the same network (empty without one)."""

    account: list[int]
    network: list[int]


class Introspected(NamedTuple):
    caller_secret_hash: str
    caller_resource: str
    # None: no access token with that hash is live for the caller's resource.
    token: LiveToken | None


# The calling resource server, then the token and what keeps it live, each left-joined only if
# live; flat joins, because SQLite materializes a nested one (twice the cost on the hot path).
_INTROSPECTION: Select[*tuple[Any, ...]] = (
    select_columns(
        col(ResourceServer.secret_hash),
        col(ResourceServer.resource),
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


def _has_live(
    table: type[Interaction | AuthorizationCode | AccessToken | RefreshToken], *live: Any
) -> Any:
    """Whether the client being considered has a row of ``table`` that is still live; rows
    under a revoked grant do not count."""
    query = select(col(table.client_id)).where(col(table.client_id) == col(Client.client_id), *live)
    if table is not Interaction:
        query = query.join(Grant, col(Grant.id) == col(table.grant_id)).where(  # type: ignore[union-attr]
            col(Grant.revoked_at).is_(None)
        )
    return query.exists()


class Store(SQLStore):
    SERVICE = "authserver"
    TABLES = (
        Account, Client, ResourceServer, Interaction, Grant, AuthorizationCode, AccessToken,
        RefreshToken, AuditEvent, LoginAttempt,
    )

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._introspection = self._hot_read(_INTROSPECTION)

    def _add(self, *rows: SQLModel) -> None:
        with self._session() as session:
            session.add_all(rows)
            try:
                session.commit()
            except IntegrityError as error:
                raise DuplicateError(str(error.orig)) from None

    # -- accounts ---------------------------------------------------------------------------

    def add_account(self, account: Account) -> None:
        self._add(account)

    def account(self, account_id: str) -> Account | None:
        with self._session() as session:
            return session.get(Account, account_id)

    def account_by_email(self, email: str) -> Account | None:
        with self._session() as session:
            return session.exec(select(Account).where(Account.email_key == email.lower())).first()

    def set_account_disabled(self, account_id: str, disabled: bool) -> bool:
        with self._session() as session:
            result = session.exec(
                update(Account).where(col(Account.id) == account_id).values(disabled=disabled)
            )
            session.commit()
            return result.rowcount == 1

    def search_accounts(self, query: str, limit: int = 50) -> list[Account]:
        """Accounts whose email or name contains ``query``, by email."""
        pattern = f"%{query.lower()}%"
        with self._session() as session:
            return list(
                session.exec(
                    select(Account)
                    .where(
                        or_(
                            col(Account.email_key).like(pattern),
                            func.lower(col(Account.family_name)).like(pattern),
                            func.lower(col(Account.given_name)).like(pattern),
                        )
                    )
                    .order_by(col(Account.email_key))
                    .limit(limit)
                )
            )

    def set_account_role(self, account_id: str, role: str) -> bool:
        with self._session() as session:
            result = session.exec(
                update(Account).where(col(Account.id) == account_id).values(role=role)
            )
            session.commit()
            return result.rowcount == 1

    # -- clients ----------------------------------------------------------------------------

    def clients(self) -> list[Client]:
        with self._session() as session:
            return list(session.exec(select(Client).order_by(col(Client.created_at).desc())))

    def set_client_blocked(self, client_id: str, blocked: bool) -> bool:
        with self._session() as session:
            result = session.exec(
                update(Client).where(col(Client.client_id) == client_id).values(blocked=blocked)
            )
            session.commit()
            return result.rowcount == 1

    def approve_client(self, client_id: str, scope: str) -> bool:
        """Admin consent: ``scope`` is allowed for every user of this client."""
        with self._session() as session:
            result = session.exec(
                update(Client)
                .where(col(Client.client_id) == client_id)
                .values(approved_scope=scope)
            )
            session.commit()
            return result.rowcount == 1

    def add_client(self, client: Client) -> None:
        self._add(client)

    def client(self, client_id: str) -> Client | None:
        with self._session() as session:
            return session.get(Client, client_id)

    def client_by_registration_token(self, token_hash: str) -> Client | None:
        with self._session() as session:
            return session.exec(
                select(Client).where(Client.registration_access_token_hash == token_hash)
            ).first()

    def save_metadata_client(self, client: Client, now: int) -> bool:
        """Store a metadata-document client, or refresh the stored one's metadata (its blocking
        and history stay). When its redirect URIs changed, its admin consent and every grant
        go: they were given for the old ones. True when it is new."""
        values: dict[str, Any] = {name: getattr(client, name) for name in _DOCUMENT_COLUMNS}
        with self._session() as session:
            stored = session.get(Client, client.client_id)
            if stored is not None and stored.kind == client.kind:
                if stored.redirect_uris != client.redirect_uris:
                    values["approved_scope"] = ""
                    session.exec(
                        update(Grant)
                        .where(col(Grant.client_id) == client.client_id,
                               col(Grant.revoked_at).is_(None))
                        .values(revoked_at=now)
                    )
                session.exec(
                    update(Client).where(col(Client.client_id) == client.client_id).values(**values)
                )
                session.commit()
                return False
            session.add(client)
            try:
                session.commit()
            except IntegrityError:
                # Fetched at the same moment by another request or replica: theirs is as good.
                session.rollback()
                return False
        return True

    def update_client_metadata(self, client_id: str, values: dict[str, Any]) -> Client | None:
        with self._session() as session:
            session.exec(update(Client).where(col(Client.client_id) == client_id).values(**values))
            session.commit()
            return session.get(Client, client_id, populate_existing=True)

    def delete_client(self, client_id: str) -> None:
        """Delete a client and everything issued to it."""
        with self._session() as session:
            for table in (AccessToken, RefreshToken, AuthorizationCode, Grant, Interaction):
                session.exec(delete(table).where(col(table.client_id) == client_id))
            session.exec(delete(Client).where(col(Client.client_id) == client_id))
            session.commit()

    def purge(
        self, now: int, *, retention: int, unused_client_age: int, audit_retention: int,
        login_window: int,
    ) -> dict[str, int]:
        """Delete what can no longer be used, kept ``retention`` seconds past its end so a
        late replay is still caught and audited: expired interactions, codes and access
        tokens; refresh tokens expired or spent; dynamic and metadata-document clients unused
        for ``unused_client_age`` seconds with nothing live (never one whose grant still has a
        working token, nor a blocked or approved document client); audit events older than
        ``audit_retention``; login attempts past the throttling window, which no longer count.
        Returns the number of rows deleted per kind."""
        horizon = now - retention
        counts: dict[str, int] = {}
        with self._session() as session:
            for name, statement in (
                ("interactions", delete(Interaction).where(col(Interaction.expires_at) < horizon)),
                ("codes", delete(AuthorizationCode).where(
                    col(AuthorizationCode.expires_at) < horizon)),
                ("access_tokens", delete(AccessToken).where(col(AccessToken.expires_at) < horizon)),
                ("refresh_tokens", delete(RefreshToken).where(or_(
                    col(RefreshToken.expires_at) < horizon, col(RefreshToken.spent_at) < horizon))),
                ("audit_events", delete(AuditEvent).where(
                    col(AuditEvent.at) < now - audit_retention)),
                ("login_attempts", delete(LoginAttempt).where(
                    col(LoginAttempt.at) <= now - login_window)),
            ):
                counts[name] = session.exec(statement).rowcount
            # Unused: a dynamic client idle since the cutoff with nothing live: no open
            # interaction, no unused code, no token that still works. Checked and deleted in
            # one statement, so a client that just got a grant is never taken.
            counts["clients"] = session.exec(
                delete(Client).where(
                    or_(
                        col(Client.kind) == "dynamic",
                        # A metadata document client is only a cache of its document, unless
                        # an admin blocked or approved it.
                        and_(
                            col(Client.kind) == "metadata_document",
                            ~col(Client.blocked),
                            col(Client.approved_scope) == "",
                        ),
                    ),
                    func.coalesce(col(Client.last_used_at), col(Client.created_at))
                    < now - unused_client_age,
                    ~_has_live(Interaction, col(Interaction.expires_at) > now),
                    ~_has_live(
                        AuthorizationCode,
                        col(AuthorizationCode.expires_at) > now,
                        col(AuthorizationCode.consumed_at).is_(None),
                    ),
                    ~_has_live(
                        AccessToken,
                        col(AccessToken.expires_at) > now,
                        col(AccessToken.revoked_at).is_(None),
                    ),
                    ~_has_live(
                        RefreshToken,
                        col(RefreshToken.expires_at) > now,
                        col(RefreshToken.spent_at).is_(None),
                    ),
                )
            ).rowcount
            # What belonged to deleted clients (now or by an earlier purge) is garbage.
            for table in (AccessToken, RefreshToken, AuthorizationCode, Grant, Interaction):
                session.exec(
                    delete(table).where(col(table.client_id).not_in(select(Client.client_id)))
                )
            session.commit()
        return counts

    # -- resource servers -------------------------------------------------------------------

    def add_resource_server(self, resource_server: ResourceServer) -> None:
        self._add(resource_server)

    def resource_server(self, resource_server_id: str) -> ResourceServer | None:
        with self._session() as session:
            return session.get(ResourceServer, resource_server_id)

    def rotate_resource_server(self, resource_server_id: str, secret_hash: str) -> bool:
        with self._session() as session:
            result = session.exec(
                update(ResourceServer)
                .where(col(ResourceServer.id) == resource_server_id)
                .values(secret_hash=secret_hash)
            )
            session.commit()
            return result.rowcount == 1

    def resource_servers(self) -> list[ResourceServer]:
        with self._session() as session:
            return list(session.exec(select(ResourceServer).order_by(col(ResourceServer.name))))

    def resource_server_by_resource(self, resource: str) -> ResourceServer | None:
        with self._session() as session:
            return session.exec(
                select(ResourceServer).where(ResourceServer.resource == resource)
            ).first()

    # -- interactions -----------------------------------------------------------------------

    def add_interaction(self, interaction: Interaction) -> None:
        self._add(interaction)

    def open_interaction(self, interaction_id: str, now: int) -> Interaction | None:
        with self._session() as session:
            return session.exec(
                select(Interaction).where(
                    Interaction.id == interaction_id,
                    col(Interaction.completed_at).is_(None),
                    Interaction.expires_at > now,
                )
            ).first()

    def decide_interaction(
        self, interaction_id: str, account_id: str, decision: str, now: int
    ) -> bool:
        """Record the user's decision once; a second submission gets False."""
        with self._session() as session:
            result = session.exec(
                update(Interaction)
                .where(
                    col(Interaction.id) == interaction_id,
                    col(Interaction.decision).is_(None),
                    col(Interaction.expires_at) > now,
                )
                .values(account_id=account_id, decision=decision)
            )
            session.commit()
            return result.rowcount == 1

    def complete_interaction(self, interaction_id: str, now: int) -> Interaction | None:
        """Take a decided interaction for completion; only the first caller gets it."""
        with self._session() as session:
            result = session.exec(
                update(Interaction)
                .where(
                    col(Interaction.id) == interaction_id,
                    col(Interaction.decision).is_not(None),
                    col(Interaction.completed_at).is_(None),
                    col(Interaction.expires_at) > now,
                )
                .values(completed_at=now)
            )
            session.commit()
            if result.rowcount != 1:
                return None
            return session.get(Interaction, interaction_id, populate_existing=True)

    # -- grants, codes and tokens -----------------------------------------------------------

    def remembered_scopes(self, account_id: str, client_id: str, resource: str) -> set[str]:
        """What this account already allowed this client for this resource (live grants),
        and what an admin allowed it for everyone."""
        with self._session() as session:
            granted = list(
                session.exec(
                    select(Grant.scope).where(
                        Grant.account_id == account_id,
                        Grant.client_id == client_id,
                        Grant.resource == resource,
                        col(Grant.revoked_at).is_(None),
                    )
                )
            )
            client = session.get(Client, client_id)
        if client is not None:
            granted.append(client.approved_scope)
        return {name for scope in granted for name in scope.split()}

    def issue_code(self, grant: Grant, code: AuthorizationCode) -> None:
        """Store a code under the live grant of its account, client and resource, widened to
        the scopes just allowed; or under ``grant``, new, when there is none.

        The grant remembers only what the user allowed: scopes an admin approved for everyone
        are not copied into it, so withdrawing the approval asks users again.

        Correct with concurrent approvals (two tabs, several replicas): a new grant relies on
        the unique index over live grants, and the widening is an UPDATE conditional on the
        scope that was read, which also keeps the grant locked and live until the code is
        stored. Whoever loses either race reads again and widens the winner's grant."""
        for _ in range(_GRANT_ATTEMPTS):
            if self._try_issue_code(grant, code):
                return
        raise RuntimeError(f"the grant of {grant.account_id} for {grant.client_id} kept changing")

    def _try_issue_code(self, grant: Grant, code: AuthorizationCode) -> bool:
        """One attempt of `issue_code`: False when another writer changed the grant first."""
        with self._session() as session:
            client = session.get(Client, grant.client_id)
            approved = set(scopes.parse(client.approved_scope if client else ""))
            allowed = [name for name in scopes.parse(grant.scope) if name not in approved]
            live = session.exec(
                select(Grant.id, Grant.scope).where(
                    Grant.account_id == grant.account_id,
                    Grant.client_id == grant.client_id,
                    Grant.resource == grant.resource,
                    col(Grant.revoked_at).is_(None),
                )
            ).first()
            if live is None:
                grant.scope = scopes.join(allowed)
                session.add(grant)
                # Flushed alone: a conflict here means another approval made it first.
                try:
                    session.flush()
                except IntegrityError:
                    session.rollback()
                    return False
                code.grant_id = grant.id
            else:
                live_id, live_scope = live
                widened = session.exec(
                    update(Grant)
                    .where(
                        col(Grant.id) == live_id,
                        col(Grant.scope) == live_scope,
                        col(Grant.revoked_at).is_(None),
                    )
                    .values(scope=scopes.join({*scopes.parse(live_scope), *allowed}))
                )
                if widened.rowcount != 1:
                    session.rollback()
                    return False
                code.grant_id = live_id
            session.add(code)
            session.commit()
            return True

    def code(self, code_hash: str) -> AuthorizationCode | None:
        with self._session() as session:
            return session.get(AuthorizationCode, code_hash)

    def grant(self, grant_id: str) -> Grant | None:
        with self._session() as session:
            return session.get(Grant, grant_id)

    def exchange_code(
        self, code_hash: str, now: int, access: AccessToken, refresh: RefreshToken | None
    ) -> bool:
        """Consume a code and store the tokens it buys, in one transaction.

        False means the code was already consumed or expired: nothing is stored.
        """
        with self._session() as session:
            consumed = session.exec(
                update(AuthorizationCode)
                .where(
                    col(AuthorizationCode.code_hash) == code_hash,
                    col(AuthorizationCode.consumed_at).is_(None),
                    col(AuthorizationCode.expires_at) > now,
                )
                .values(consumed_at=now)
            )
            if consumed.rowcount != 1:
                session.rollback()
                return False
            session.add(access)
            if refresh is not None:
                session.add(refresh)
            self._touch(session, access.grant_id, access.client_id, now)
            session.commit()
            return True

    def refresh_token(self, token_hash: str) -> RefreshToken | None:
        with self._session() as session:
            return session.get(RefreshToken, token_hash)

    def rotate_refresh_token(
        self,
        old_hash: str,
        now: int,
        access: AccessToken,
        refresh: RefreshToken,
        replay: bytes,
    ) -> bool:
        """Spend a refresh token and store its successors, in one transaction.

        False means another request spent it first: nothing is stored.
        """
        with self._session() as session:
            spent = session.exec(
                update(RefreshToken)
                .where(
                    col(RefreshToken.token_hash) == old_hash,
                    col(RefreshToken.spent_at).is_(None),
                )
                .values(spent_at=now, replay=replay)
            )
            if spent.rowcount != 1:
                session.rollback()
                return False
            session.add_all([access, refresh])
            self._touch(session, access.grant_id, access.client_id, now)
            session.commit()
            return True

    def live_grants(
        self, *, account_id: str | None = None, client_id: str | None = None
    ) -> list[tuple[Grant, Client, Account]]:
        """Live grants (OAuth apps and personal tokens) of an account or of a client."""
        query = (
            select(Grant, Client, Account)
            .join(Client, col(Client.client_id) == col(Grant.client_id))
            .join(Account, col(Account.id) == col(Grant.account_id))
            .where(col(Grant.revoked_at).is_(None))
        )
        if account_id is not None:
            query = query.where(Grant.account_id == account_id)
        if client_id is not None:
            query = query.where(Grant.client_id == client_id)
        with self._session() as session:
            rows = session.exec(query.order_by(col(Grant.created_at).desc())).all()
            return [(grant, client, account) for grant, client, account in rows]

    def personal_tokens(self, account_id: str, now: int) -> list[tuple[Grant, AccessToken]]:
        """The account's live personal access tokens, newest first."""
        with self._session() as session:
            rows = session.exec(
                select(Grant, AccessToken)
                .join(AccessToken, col(AccessToken.grant_id) == col(Grant.id))
                .where(
                    Grant.account_id == account_id,
                    Grant.client_id == PERSONAL_CLIENT_ID,
                    col(Grant.revoked_at).is_(None),
                    AccessToken.expires_at > now,
                )
                .order_by(col(Grant.created_at).desc())
            ).all()
            return [(grant, token) for grant, token in rows]

    def issue_personal_token(self, grant: Grant, token: AccessToken) -> None:
        self._add(grant, token)

    def revoke_account_grant(self, account_id: str, grant_id: str, now: int) -> bool:
        """Revoke one of the account's own grants (never another account's): False if none."""
        with self._session() as session:
            result = session.exec(
                update(Grant)
                .where(
                    col(Grant.id) == grant_id,
                    col(Grant.account_id) == account_id,
                    col(Grant.revoked_at).is_(None),
                )
                .values(revoked_at=now)
            )
            session.commit()
            return result.rowcount == 1

    def touch_grant(self, grant_id: str, now: int, every: int) -> None:
        """Record a use of the grant, at most once per ``every`` seconds (a cheap no-op else)."""
        with self._session() as session:
            session.exec(
                update(Grant)
                .where(
                    col(Grant.id) == grant_id,
                    or_(col(Grant.last_used_at).is_(None), col(Grant.last_used_at) <= now - every),
                )
                .values(last_used_at=now)
            )
            session.commit()

    def revoke_grant(self, grant_id: str, now: int) -> None:
        """Revoke a grant; every code and token issued under it dies with it."""
        with self._session() as session:
            session.exec(
                update(Grant)
                .where(col(Grant.id) == grant_id, col(Grant.revoked_at).is_(None))
                .values(revoked_at=now)
            )
            session.commit()

    def access_token(self, token_hash: str) -> AccessToken | None:
        with self._session() as session:
            return session.get(AccessToken, token_hash)

    def revoke_access_token(self, token_hash: str, now: int) -> None:
        with self._session() as session:
            session.exec(
                update(AccessToken)
                .where(
                    col(AccessToken.token_hash) == token_hash,
                    col(AccessToken.revoked_at).is_(None),
                )
                .values(revoked_at=now)
            )
            session.commit()

    def introspection(self, caller_id: str, token_hash: str, now: int) -> Introspected | None:
        """The calling resource server and, if the token is live for its resource, the token.

        Live means: not expired or revoked, its grant not revoked, its account not disabled,
        its client not blocked, and its audience exactly the caller's resource. One query on
        plain columns, because every resource-server cache miss lands here. None: no such caller.
        """
        row = self._introspection.first(
            {"caller_id": caller_id, "token_hash": token_hash, "now": now}
        )
        if row is None:
            return None
        secret_hash, resource, client_id, *columns = row
        token = LiveToken(*columns)
        live = None not in (client_id, token.grant_id, token.account_id)
        return Introspected(secret_hash, resource, token if live else None)

    # -- audit log --------------------------------------------------------------------------

    def record(self, event: AuditEvent) -> None:
        self._add(event)

    def audit_events(
        self,
        *,
        event: str | None = None,
        actor: str | None = None,
        client_id: str | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> list[AuditEvent]:
        """Newest first; ``event`` matches a prefix ("token." for every token event); pages
        continue ``before`` the last id seen."""
        query = select(AuditEvent)
        if event:
            query = query.where(col(AuditEvent.event).startswith(event, autoescape=True))
        if actor:
            query = query.where(AuditEvent.actor == actor)
        if client_id:
            query = query.where(AuditEvent.client_id == client_id)
        if before is not None:
            query = query.where(col(AuditEvent.id) < before)
        with self._session() as session:
            return list(session.exec(query.order_by(col(AuditEvent.id).desc()).limit(limit)))

    # -- login throttling -------------------------------------------------------------------

    def begin_login_attempt(
        self, attempt: LoginAttempt, *, since: int, account_limit: int, network_limit: int
    ) -> tuple[int, RecentAttempts]:
        """Record an attempt before its password is checked, then read the newest attempts
        after ``since`` on its email key and its network, at most ``account_limit`` and
        ``network_limit`` of them. Recording first is what holds with replicas: of attempts
        running at once, the one that reads last sees every one of them, so no more than the
        limit get their password checked, however many arrive together."""
        with self._session() as session:
            session.add(attempt)
            session.flush()
            assert attempt.id is not None
            attempt_id = attempt.id
            session.commit()
            recent = RecentAttempts(
                account=self._attempt_times(
                    session, col(LoginAttempt.account_key) == attempt.account_key, since,
                    account_limit,
                ),
                network=[] if attempt.network is None else self._attempt_times(
                    session, col(LoginAttempt.network) == attempt.network, since, network_limit
                ),
            )
        return attempt_id, recent

    @staticmethod
    def _attempt_times(session: Session, same: Any, since: int, limit: int) -> list[int]:
        query = (
            select(LoginAttempt.at)
            .where(same, col(LoginAttempt.at) > since)
            .order_by(col(LoginAttempt.at).desc())
            .limit(limit)
        )
        return list(session.exec(query))

    def end_login_attempt(self, attempt_id: int) -> None:
        """Forget one attempt: it logged in, or it was refused without a password check."""
        with self._session() as session:
            session.exec(delete(LoginAttempt).where(col(LoginAttempt.id) == attempt_id))
            session.commit()

    @staticmethod
    def _touch(session: Session, grant_id: str, client_id: str, now: int) -> None:
        session.exec(update(Grant).where(col(Grant.id) == grant_id).values(last_used_at=now))
        session.exec(
            update(Client).where(col(Client.client_id) == client_id).values(last_used_at=now)
        )

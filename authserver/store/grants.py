"""Grants: what an account allowed a client for a resource, remembered for consent; every code
and token is issued under one and dies with it."""

from __future__ import annotations

from sqlalchemy import ColumnElement
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, or_, select, update

from authserver.models import (
    PERSONAL_CLIENT_ID,
    AccessToken,
    Account,
    AuthorizationCode,
    Client,
    Grant,
)
from authserver.store.search import contains_text
from authserver.store.security_events import SecurityEventStore, grant_revoked
from shared import scopes

# Each retry of `issue_code` means another writer changed the grant first: widened it (its
# scope only grows, so at most once per scope in the catalogue), created it, or revoked it.
_GRANT_ATTEMPTS = 2 * len(scopes.NAMES) + 2


class GrantStore(SecurityEventStore):
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
                select(Grant.id, Grant.scope).where(*_same_live_grant(grant))
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
                    .values(
                        scope=scopes.join({*scopes.parse(live_scope), *allowed}),
                        # How the user signed in for this authorization, the latest.
                        amr=grant.amr, auth_time=grant.auth_time,
                    )
                )
                if widened.rowcount != 1:
                    session.rollback()
                    return False
                code.grant_id = live_id
            session.add(code)
            session.commit()
            return True

    def issue_under_live_grant(self, grant: Grant, token: AccessToken) -> None:
        """Store ``token`` under the live grant of its account, client and resource, or under
        ``grant``, new, when there is none (of concurrent first uses, the unique index over
        live grants keeps one: the other reads it)."""
        for _ in range(_GRANT_ATTEMPTS):
            with self._session() as session:
                live = session.exec(select(Grant.id).where(*_same_live_grant(grant))).first()
                if live is None:
                    session.add(grant)
                    try:
                        session.flush()
                    except IntegrityError:
                        session.rollback()
                        continue
                token.grant_id = live or grant.id
                session.add(token)
                session.commit()
                return
        raise RuntimeError(f"the grant of {grant.account_id} for {grant.client_id} kept changing")

    def grant(self, grant_id: str) -> Grant | None:
        with self._session() as session:
            return session.get(Grant, grant_id)

    def live_grants(
        self, *, account_id: str | None = None, client_id: str | None = None,
        q: str = "", offset: int = 0, limit: int | None = None,
    ) -> list[tuple[Grant, Client, Account]]:
        """Live grants (OAuth apps and personal tokens) of an account or of a client, newest
        first (the id breaks ties, so pages never overlap); ``q``: the account's email, the
        client's name or id, or a personal token's name contains it (any case)."""
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
        if q:
            query = query.where(contains_text(
                q, col(Account.email_key), col(Client.client_name), col(Client.client_id),
                col(Grant.name),
            ))
        query = query.order_by(col(Grant.created_at).desc(), col(Grant.id).desc()).offset(offset)
        with self._session() as session:
            rows = session.exec(query.limit(limit)).all()
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
        return self._update_one(
            update(Grant)
            .where(
                col(Grant.id) == grant_id,
                col(Grant.account_id) == account_id,
                col(Grant.revoked_at).is_(None),
            )
            .values(revoked_at=now),
            then=self._recording(grant_revoked(grant_id, now)),
        )

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
        """Revoke a grant; every code and token issued under it dies with it (and its event
        tells the resource servers, unless it was revoked already)."""
        self._update_one(
            update(Grant)
            .where(col(Grant.id) == grant_id, col(Grant.revoked_at).is_(None))
            .values(revoked_at=now),
            then=self._recording(grant_revoked(grant_id, now)),
        )


def _same_live_grant(grant: Grant) -> tuple[ColumnElement[bool], ...]:
    """The live grant of ``grant``'s account, client and resource (one at most: the unique
    index over live grants)."""
    return (
        col(Grant.account_id) == grant.account_id,
        col(Grant.client_id) == grant.client_id,
        col(Grant.resource) == grant.resource,
        col(Grant.revoked_at).is_(None),
    )

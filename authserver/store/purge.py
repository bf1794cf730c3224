"""Garbage collection in SQL: expired and spent rows, unused clients, and what they leave."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, and_, col, delete, func, or_, select

from authserver.models import (
    AccessToken,
    AccountSession,
    Attempt,
    AuditEvent,
    AuthorizationCode,
    Client,
    Grant,
    Interaction,
    RefreshToken,
    SecurityEvent,
    UsedAssertion,
    UsedChallenge,
)
from authserver.store.security_events import RETENTION_SECONDS
from shared.database import SQLStore

# What a client owns, deleted before it and after it.
_OWNED = (AccessToken, RefreshToken, AuthorizationCode, Grant, Interaction)


class Purger(SQLStore):
    def purge(
        self, now: int, *, retention: int, unused_client_age: int, unused_registration_age: int,
        audit_retention: int, attempt_window: int,
    ) -> dict[str, int]:
        """Delete what can no longer be used, kept ``retention`` seconds past its end so a
        late replay is still caught and audited: expired interactions, codes and access
        tokens; refresh tokens expired or spent; dynamic and metadata-document clients unused
        for ``unused_client_age`` seconds with nothing live (never one whose grant still has a
        working token, nor a blocked or approved document client); dynamic clients never used
        for a code ``unused_registration_age`` after they registered; audit events older than
        ``audit_retention``; attempts past the throttling window, which no longer count;
        client assertion jtis once expired (the assertion's exp refuses it from then on);
        login sessions once expired (nothing is left to catch: the cookie names no row); used
        passkey challenges once expired (their signed cookie refuses them from then on);
        security events after RETENTION_SECONDS, when no resource server can still hold what
        they name.
        Returns the number of rows deleted per kind."""
        # The feed's events in a transaction of their own: every revocation locks their table
        # (store.security_events), and would otherwise wait for the whole purge, up to the
        # lock timeout on PostgreSQL (shared.session_bounds).
        with self._session() as session:
            security_events = session.exec(
                delete(SecurityEvent).where(col(SecurityEvent.at) < now - RETENTION_SECONDS)
            ).rowcount
            session.commit()
        with self._session() as session:
            counts = _delete_ended(
                session, now - retention, audit_before=now - audit_retention,
                attempts_until=now - attempt_window, expired_before=now,
            )
            counts["security_events"] = security_events
            counts["clients"] = _delete_unused_clients(session, now, now - unused_client_age)
            counts["registrations"] = _delete_unused_registrations(
                session, now, now - unused_registration_age
            )
            _delete_orphans(session)
            session.commit()
        return counts


def _delete_ended(
    session: Session, horizon: int, *, audit_before: int, attempts_until: int,
    expired_before: int,
) -> dict[str, int]:
    """Rows that ended before ``horizon``, audit events before ``audit_before``,
    attempts until ``attempts_until``, and assertion jtis, passkey challenges and sessions
    expired before ``expired_before``: the count deleted per kind."""
    statements = {
        "interactions": delete(Interaction).where(col(Interaction.expires_at) < horizon),
        "codes": delete(AuthorizationCode).where(col(AuthorizationCode.expires_at) < horizon),
        "access_tokens": delete(AccessToken).where(col(AccessToken.expires_at) < horizon),
        "refresh_tokens": delete(RefreshToken).where(
            or_(col(RefreshToken.expires_at) < horizon, col(RefreshToken.spent_at) < horizon)
        ),
        "audit_events": delete(AuditEvent).where(col(AuditEvent.at) < audit_before),
        "attempts": delete(Attempt).where(col(Attempt.at) <= attempts_until),
        "assertions": delete(UsedAssertion).where(
            col(UsedAssertion.expires_at) < expired_before
        ),
        "challenges": delete(UsedChallenge).where(
            col(UsedChallenge.expires_at) < expired_before
        ),
        "sessions": delete(AccountSession).where(col(AccountSession.expires_at) <= expired_before),
    }
    return {name: session.exec(statement).rowcount for name, statement in statements.items()}


def _delete_unused_clients(session: Session, now: int, idle_since: int) -> int:
    """Unused: a dynamic client idle since ``idle_since`` with nothing live: no open
    interaction, no unused code, no token that still works. Checked and deleted in one
    statement, so a client that just got a grant is never taken."""
    return session.exec(
        delete(Client).where(
            or_(
                col(Client.kind) == "dynamic",
                # A metadata document client is only a cache of its document, unless an admin
                # blocked or approved it.
                and_(
                    col(Client.kind) == "metadata_document",
                    ~col(Client.blocked),
                    col(Client.approved_scope) == "",
                ),
            ),
            func.coalesce(col(Client.last_used_at), col(Client.created_at)) < idle_since,
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


def _delete_unused_registrations(session: Session, now: int, registered_before: int) -> int:
    """A dynamic client registered before ``registered_before`` and never used for a code: no
    grant (live or revoked), no code, no open interaction, and never used. Pre-registered
    clients and metadata documents are not registrations; documents have the rule above."""
    return session.exec(
        delete(Client).where(
            col(Client.kind) == "dynamic",
            col(Client.created_at) < registered_before,
            col(Client.last_used_at).is_(None),
            ~_owns(Grant),
            ~_owns(AuthorizationCode),
            ~_owns(Interaction, col(Interaction.expires_at) > now),
        )
    ).rowcount


def _owns(table: type[Grant | AuthorizationCode | Interaction], *where: Any) -> Any:
    """Whether the client being considered has a row of ``table`` (that matches ``where``)."""
    return (
        select(col(table.client_id))
        .where(col(table.client_id) == col(Client.client_id), *where)
        .exists()
    )


def _delete_orphans(session: Session) -> None:
    """What belonged to deleted clients (now or by an earlier purge) is garbage."""
    for table in _OWNED:
        session.exec(delete(table).where(col(table.client_id).not_in(select(Client.client_id))))


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

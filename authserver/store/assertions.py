"""Client assertion jtis (RFC 7523): each accepted once, by an insert the primary key decides."""

from __future__ import annotations

from sqlmodel import col, delete

from authserver.models import UsedAssertion
from shared.database import SQLStore


class AssertionStore(SQLStore):
    def use_assertion(self, client_id: str, jti: str, now: int, expires_at: int) -> bool:
        """Record the jti of a client's assertion as used until ``expires_at``; False when it
        already is (a replay). Of concurrent uses, on one replica or several, exactly one
        insert succeeds. A jti remembered past its time may be used again."""
        with self._session() as session:
            session.exec(
                delete(UsedAssertion).where(
                    col(UsedAssertion.client_id) == client_id,
                    col(UsedAssertion.jti) == jti,
                    col(UsedAssertion.expires_at) < now,
                )
            )
            session.add(UsedAssertion(client_id=client_id, jti=jti, expires_at=expires_at))
            return self._commit_new(session)

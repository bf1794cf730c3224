"""Unix times past January 2038, beyond a 32-bit integer: stored, read back and compared by the
authorization server on both backends (PostgreSQL's INTEGER would overflow)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from authserver.models import PERSONAL_CLIENT_ID, AccessToken, AuditEvent, Grant
from authserver.security import new_id
from shared.database import create_db_engine
from tests.databases import both_backends
from tests.flow import introspect, refresh, tokens_for
from tests.harness import AuthServer

pytestmark = both_backends

INT32_MAX = 2**31 - 1
IN_2040 = int(datetime(2040, 1, 1, tzinfo=UTC).timestamp())


def test_a_token_expiring_in_2040_is_stored_and_live(auth_server: AuthServer) -> None:
    store, now = auth_server.store, auth_server.clock()
    account_id = auth_server.account().id
    grant = Grant(id=new_id("grant"), account_id=account_id, client_id=PERSONAL_CLIENT_ID,
                  scope="read:data", resource=auth_server.resource, created_at=now,
                  name="until 2040", token_prefix="hospiai_pat_x")
    token_hash = auth_server.keys.hash_secret("hospiai_pat_until_2040")
    store.issue_personal_token(grant, AccessToken(
        token_hash=token_hash, grant_id=grant.id, client_id=PERSONAL_CLIENT_ID,
        account_id=account_id, scope="read:data", resource=auth_server.resource,
        issued_at=now, expires_at=IN_2040,
    ))
    [(_, stored)] = store.personal_tokens(account_id, now)
    assert stored.expires_at == IN_2040 > INT32_MAX
    found = store.introspection(auth_server.resource_server.id, token_hash, now)
    assert found is not None and found.token is not None
    assert found.token.expires_at == IN_2040
    # Compared with a time past 2038 too: still live the day before, dead from its expiry.
    assert store.personal_tokens(account_id, IN_2040 - 86400) != []
    assert store.personal_tokens(account_id, IN_2040) == []


def test_the_whole_flow_works_with_the_clock_in_2040(auth_server: AuthServer) -> None:
    auth_server.clock.advance(IN_2040 - auth_server.clock())
    client_id = auth_server.client(public=True).id
    email = auth_server.account().email
    tokens = tokens_for(auth_server, client_id, email)
    info = introspect(auth_server, tokens["access_token"]).json()
    assert info["active"] is True and info["iat"] >= IN_2040 and info["exp"] > info["iat"]
    renewed = refresh(auth_server, client_id, tokens["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    assert introspect(auth_server, renewed.json()["access_token"]).json()["active"] is True
    [grant] = auth_server.store.live_grants(client_id=client_id)
    assert grant[0].created_at >= IN_2040 and (grant[0].last_used_at or 0) >= IN_2040
    events = auth_server.store.audit_events(event="token.", client_id=client_id)
    assert [event.event for event in events] == ["token.refreshed", "token.issued"]
    assert all(event.at >= IN_2040 for event in events)


def test_audit_events_are_numbered_beyond_32_bits(auth_server: AuthServer) -> None:
    """A busy server writes 2**31 audit events in months: ids (and PostgreSQL's sequence for
    them) go on past it, and the log still pages."""
    store, now = auth_server.store, auth_server.clock()
    engine = create_db_engine(auth_server.settings.database_url)
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(text(
                    "SELECT setval(pg_get_serial_sequence('auditevent', 'id'), :last)"
                ), {"last": INT32_MAX + 5})
            else:  # SQLite numbers a new row after the largest rowid.
                connection.execute(text(
                    "INSERT INTO auditevent (id, at, event, detail) VALUES (:last, :at, 'x', '{}')"
                ), {"last": INT32_MAX + 5, "at": now})
    finally:
        engine.dispose()
    for number in range(3):
        store.record(AuditEvent(at=now, event="test.numbered", detail={"number": number}))
    newest = store.audit_events(event="test.numbered", limit=2)
    assert [event.detail["number"] for event in newest] == [2, 1]
    assert all(event.id is not None and event.id > INT32_MAX for event in newest)
    older = store.audit_events(event="test.numbered", before=newest[-1].id)
    assert [event.detail["number"] for event in older] == [0]

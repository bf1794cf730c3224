"""What a refresh writes besides its tokens: the audit row and the last use of the grant and
the client, in the rotation's own transaction, and the last-use times at most once a minute."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from authserver.models import AuditEvent
from tests.databases import both_backends
from tests.flow import refresh, successors, tokens_for
from tests.harness import AuthServer

pytestmark = both_backends


def _grant_and_client_use(server: AuthServer, client_id: str) -> tuple[int | None, int | None]:
    (grant, _client, _account), = server.store.live_grants(client_id=client_id)
    client = server.store.client(client_id)
    assert client is not None
    return grant.last_used_at, client.last_used_at


def _refreshed(server: AuthServer) -> int:
    return len(server.store.audit_events(event="token.refreshed"))


def test_last_use_is_written_at_most_once_a_minute(
    auth_server: AuthServer, public_client: str
) -> None:
    auth_server.clock.freeze()  # a second passing mid-test would look like a write
    tokens = tokens_for(auth_server, public_client, auth_server.account().email)
    issued = auth_server.clock()
    assert _grant_and_client_use(auth_server, public_client) == (issued, issued)
    auth_server.clock.advance(59)
    tokens = refresh(auth_server, public_client, tokens["refresh_token"]).json()
    # Within the minute: not written again, though the refresh is recorded in the audit log.
    assert _grant_and_client_use(auth_server, public_client) == (issued, issued)
    assert _refreshed(auth_server) == 1
    auth_server.clock.advance(1)
    refresh(auth_server, public_client, tokens["refresh_token"]).raise_for_status()
    now = auth_server.clock()
    assert _grant_and_client_use(auth_server, public_client) == (now, now)
    assert _refreshed(auth_server) == 2


def test_the_audit_row_is_stored_only_with_its_rotation(
    auth_server: AuthServer, public_client: str
) -> None:
    """Of concurrent rotations of one token, one stores its tokens and its audit row; the
    others store neither (one transaction: no rotation unrecorded, no record of a rotation
    that did not happen)."""
    tokens = tokens_for(auth_server, public_client, auth_server.account().email)
    spent = auth_server.store.refresh_token(auth_server.keys.hash_secret(tokens["refresh_token"]))
    assert spent is not None
    callers = 8

    def rotate(index: int) -> bool:
        access, successor = successors(spent, str(index))
        event = AuditEvent(at=index, event="token.refreshed", detail={"caller": index})
        return auth_server.store.rotate_refresh_token(
            spent.token_hash, auth_server.clock(), access, successor, b"sealed", event
        )

    with ThreadPoolExecutor(max_workers=callers) as pool:
        won = list(pool.map(rotate, range(callers)))
    assert won.count(True) == 1
    (event,) = auth_server.store.audit_events(event="token.refreshed")
    winner = won.index(True)
    assert event.detail["caller"] == winner
    stored = [auth_server.store.refresh_token(f"rt-{index}") for index in range(callers)]
    assert [index for index, row in enumerate(stored) if row is not None] == [winner]

"""Under concurrency: 20 simultaneous exchanges of one code give exactly one success, and 20
simultaneous approvals for one account, client and resource leave exactly one live grant."""

from __future__ import annotations

import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from authserver.models import AuthorizationCode, Grant
from authserver.security import new_id
from shared import scopes
from tests.databases import both_backends
from tests.flow import REDIRECT_URI, authorize, introspect
from tests.harness import AuthServer

pytestmark = both_backends

ATTEMPTS = 20


def test_concurrent_code_exchanges_yield_exactly_one_success(auth_server: AuthServer) -> None:
    client_id = auth_server.client(public=True).id
    result = authorize(auth_server, client_id, auth_server.account().email)
    data = {
        "grant_type": "authorization_code",
        "code": result.params["code"],
        "redirect_uri": REDIRECT_URI,
        "client_id": client_id,
        "code_verifier": result.verifier,
    }

    def attempt(_: int) -> httpx.Response:
        with httpx.Client(base_url=auth_server.url, timeout=30) as http:
            return http.post("/token", data=data)

    with ThreadPoolExecutor(max_workers=ATTEMPTS) as pool:
        responses = list(pool.map(attempt, range(ATTEMPTS)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [400] * (ATTEMPTS - 1), [r.text for r in responses]
    assert all(r.json()["error"] == "invalid_grant" for r in responses if r.status_code == 400)
    # The losers were replays, so the winner's token dies with its grant.
    winner = next(r for r in responses if r.status_code == 200).json()
    assert introspect(auth_server, winner["access_token"]).json() == {"active": False}


def test_concurrent_approvals_share_one_grant_with_every_scope(auth_server: AuthServer) -> None:
    """Tabs or replicas approving at once: one connected app holding the union of what each
    approval allowed, every code under it (not a second grant, not a lost widening)."""
    client_id = auth_server.client(public=True).id
    account_id = auth_server.account().id
    now = auth_server.clock()
    start = threading.Barrier(ATTEMPTS)

    def approve(attempt: int) -> str:
        grant = Grant(
            id=new_id("grant"),
            account_id=account_id,
            client_id=client_id,
            # Each approval allows one scope: together, the whole catalogue.
            scope=scopes.NAMES[attempt % len(scopes.NAMES)],
            resource=auth_server.resource,
            created_at=now,
        )
        code_hash = auth_server.keys.hash_secret(secrets.token_urlsafe(32))
        code = AuthorizationCode(
            code_hash=code_hash, grant_id=grant.id, client_id=client_id, account_id=account_id,
            redirect_uri=REDIRECT_URI, scope=grant.scope, resource=grant.resource,
            code_challenge="x" * 43, code_challenge_method="S256", created_at=now,
            expires_at=now + 60,
        )
        start.wait()
        auth_server.store.issue_code(grant, code)
        return code_hash

    with ThreadPoolExecutor(max_workers=ATTEMPTS) as pool:
        codes = list(pool.map(approve, range(ATTEMPTS)))
    live = auth_server.store.live_grants(account_id=account_id, client_id=client_id)
    assert len(live) == 1, [grant.scope for grant, _, _ in live]
    grant = live[0][0]
    assert grant.scope == scopes.join(scopes.NAMES)
    stored = [auth_server.store.code(code_hash) for code_hash in codes]
    assert [code.grant_id if code else None for code in stored] == [grant.id] * ATTEMPTS

"""Single use under concurrency: 20 simultaneous exchanges of one code, exactly one success."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.conftest import AuthServer
from tests.databases import both_backends
from tests.flow import REDIRECT_URI, authorize, introspect

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

"""Several replicas on one PostgreSQL database, each its own `hospiai` process: any replica
carries on what another started, and single use holds across them (codes, refresh tokens,
slots). Nothing these tests rely on may live in one process's memory."""

from __future__ import annotations

import datetime
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from authserver.models import Account
from authserver.provisioning import (
    Credentials,
    create_account,
    create_client,
    create_resource_server,
)
from authserver.security import Keys
from authserver.store import Store
from mcpserver.domain.seed import seed_demo
from mcpserver.domain.store import DomainStore
from shared.database import create_db_engine
from tests.databases import Databases
from tests.flow import (
    REDIRECT_URI,
    authorize,
    authorize_params,
    decide,
    exchange,
    introspect,
    login,
    pkce_pair,
    query_of,
    refresh,
    start,
    tokens_for,
)
from tests.harness import PASSWORD
from tests.mcpserver.helpers import MCP_HEADERS
from tests.servers import Process, free_port, hospiai_all

# It starts processes: handed out first, so that it never ends the run (tests/conftest.py).
pytestmark = pytest.mark.processes

ATTEMPTS = 50
GRACE_SECONDS = 2
T = TypeVar("T")


@dataclass
class Replica:
    """One authorization server process, as tests.flow drives it."""

    url: str
    resource_server: Credentials

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)


@dataclass
class Cluster:
    issuer: str
    resource: str
    auth: tuple[Replica, Replica]
    mcp: tuple[str, str]
    store: Store
    domain: DomainStore
    keys: Keys

    def public_client(self) -> str:
        return create_client(self.store, self.keys, name="Replicated",
                             redirect_uris=[REDIRECT_URI], public=True, now=int(time.time())).id

    def account(self) -> Account:
        return create_account(self.store, email=f"replica-{secrets.token_hex(4)}@hospiai.test",
                              password=PASSWORD, given_name="Rita", family_name="Plique",
                              now=int(time.time()))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two authorization servers and two MCP servers, all on one PostgreSQL database."""
    folder = tmp_path_factory.mktemp("replicas")
    databases = Databases("postgresql", folder)
    try:
        yield from _cluster(databases.url("shared"), folder)
    finally:
        databases.drop()


def _cluster(url: str, folder: Path) -> Iterator[Cluster]:
    auth_ports, mcp_ports = (free_port(), free_port()), (free_port(), free_port())
    # Behind a load balancer every replica has the same public URLs; here, the first's.
    issuer, resource = f"http://127.0.0.1:{auth_ports[0]}", f"http://127.0.0.1:{mcp_ports[0]}/mcp"
    secret_key = secrets.token_urlsafe(32)
    env = {
        **os.environ, "HOSPIAI_ISSUER": issuer, "HOSPIAI_SECRET_KEY": secret_key,
        "HOSPIAI_AUTH_DATABASE_URL": url, "HOSPIAI_MCP_DATABASE_URL": url,
        "HOSPIAI_DEFAULT_RESOURCE": resource,
        "HOSPIAI_REFRESH_GRACE_SECONDS": str(GRACE_SECONDS),
    }
    # `hospiai db upgrade` migrates both services into the one database.
    upgrade = subprocess.run([sys.executable, "-m", "hospiai.cli", "db", "upgrade"], env=env,
                             capture_output=True, text=True, timeout=60, check=False)
    assert upgrade.returncode == 0, upgrade.stderr
    store, domain = Store(create_db_engine(url)), DomainStore(create_db_engine(url))
    keys = Keys(secret_key)
    try:
        with ExitStack() as running:
            now = int(time.time())
            rs = create_resource_server(store, keys, resource=resource, name="MCP", now=now)
            seed_demo(domain, datetime.date.today(), now)
            auth = [Replica(f"http://127.0.0.1:{port}", rs) for port in auth_ports]
            running.enter_context(hospiai_all(
                *(Process("authserver", {**env, "HOSPIAI_AUTH_PORT": str(port)},
                          f"{auth[index].url}/healthz", folder / f"authserver-{index}.log")
                  for index, port in enumerate(auth_ports)),
                *(Process("mcpserver",
                          {**env, "HOSPIAI_MCP_URL": resource, "HOSPIAI_MCP_PORT": str(port),
                           "HOSPIAI_MCP_CLIENT_ID": rs.id,
                           "HOSPIAI_MCP_CLIENT_SECRET": rs.secret or "",
                           # Each MCP replica asks its own authorization server replica.
                           "HOSPIAI_INTROSPECTION_URL": f"{auth[index].url}/introspect"},
                          f"http://127.0.0.1:{port}/healthz", folder / f"mcpserver-{index}.log")
                  for index, port in enumerate(mcp_ports)),
            ))
            mcp = [f"http://127.0.0.1:{port}/mcp" for port in mcp_ports]
            yield Cluster(issuer, resource, (auth[0], auth[1]), (mcp[0], mcp[1]), store, domain,
                          keys)
    finally:
        store.dispose()
        domain.dispose()


def _all_at_once(attempt: Callable[[int], T]) -> list[T]:
    """``ATTEMPTS`` calls of ``attempt(index)``, released together."""
    barrier = threading.Barrier(ATTEMPTS)

    def run(index: int) -> T:
        barrier.wait(timeout=30)
        return attempt(index)

    with ThreadPoolExecutor(max_workers=ATTEMPTS) as pool:
        return list(pool.map(run, range(ATTEMPTS)))


def test_each_step_of_a_flow_on_the_other_replica(cluster: Cluster) -> None:
    one, two = cluster.auth
    client_id, email = cluster.public_client(), cluster.account().email
    verifier, challenge = pkce_pair()
    # One browser: the signed cookies it got from one replica work on the other.
    with httpx.Client(base_url=one.url, timeout=30) as browser:
        interaction = start(browser, authorize_params(client_id, challenge)).headers["location"]
        browser.base_url = httpx.URL(two.url)
        assert login(browser, interaction, email, PASSWORD).status_code == 303
        browser.base_url = httpx.URL(one.url)
        back = decide(browser, interaction, "allow")
    assert back.status_code == 303, back.text
    params = query_of(back.headers["location"])
    assert params["iss"] == cluster.issuer
    first = exchange(two, client_id, params["code"], verifier)
    assert first.status_code == 200, first.text
    second = refresh(one, client_id, first.json()["refresh_token"])
    assert second.status_code == 200, second.text
    info = introspect(two, second.json()["access_token"]).json()
    assert info["active"] is True
    assert info["aud"] == cluster.resource and info["iss"] == cluster.issuer


def test_one_code_exchanged_concurrently_on_both_replicas_succeeds_once(cluster: Cluster) -> None:
    client_id = cluster.public_client()
    result = authorize(cluster.auth[0], client_id, cluster.account().email)
    data = {"grant_type": "authorization_code", "code": result.params["code"],
            "redirect_uri": REDIRECT_URI, "client_id": client_id, "code_verifier": result.verifier}

    def attempt(index: int) -> httpx.Response:
        with cluster.auth[index % 2].http() as http:
            return http.post("/token", data=data)

    responses = _all_at_once(attempt)
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [400] * (ATTEMPTS - 1), [r.text for r in responses]
    assert {r.json()["error"] for r in responses if r.status_code == 400} == {"invalid_grant"}
    # The losers were replays: what the code bought dies, on every replica.
    winner = next(r for r in responses if r.status_code == 200).json()
    for replica in cluster.auth:
        assert introspect(replica, winner["access_token"]).json() == {"active": False}
        assert refresh(replica, client_id, winner["refresh_token"]).status_code == 400


def test_one_refresh_token_reused_concurrently_then_after_the_grace_window(
    cluster: Cluster,
) -> None:
    client_id = cluster.public_client()
    tokens = tokens_for(cluster.auth[0], client_id, cluster.account().email)

    def attempt(index: int) -> httpx.Response:
        return refresh(cluster.auth[index % 2], client_id, tokens["refresh_token"])

    responses = _all_at_once(attempt)
    ok = [response.json() for response in responses if response.status_code == 200]
    # Inside the grace window every success is the same new pair, never a second one.
    assert ok and {(body["access_token"], body["refresh_token"]) for body in ok} == {
        (ok[0]["access_token"], ok[0]["refresh_token"])
    }
    assert {r.json()["error"] for r in responses if r.status_code != 200} <= {"invalid_grant"}
    time.sleep(GRACE_SECONDS + 1)
    late = refresh(cluster.auth[1], client_id, tokens["refresh_token"])
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"
    # Reuse after the window revoked the grant: the pair it had bought is dead everywhere.
    for replica in cluster.auth:
        assert introspect(replica, ok[0]["access_token"]).json() == {"active": False}
    assert refresh(cluster.auth[0], client_id, ok[0]["refresh_token"]).status_code == 400


def test_one_slot_booked_concurrently_on_both_mcp_replicas_is_booked_once(
    cluster: Cluster,
) -> None:
    patient = cluster.account()
    tokens = tokens_for(cluster.auth[0], cluster.public_client(), patient.email,
                        scope="read:data write:bookings", resource=cluster.resource)
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {tokens['access_token']}"}
    slot = cluster.domain.free_slots(start=int(time.time()), end=2**40, hospital_id="lyon-2",
                                     doctor_id=None, specialty=None, limit=1)[0].slot.id
    call = {"name": "book_appointment", "arguments": {"slot_id": slot, "reason": "Check-up"}}

    def attempt(index: int) -> dict[str, Any]:
        response = httpx.post(
            cluster.mcp[index % 2], headers=headers, timeout=60,
            json={"jsonrpc": "2.0", "id": index, "method": "tools/call", "params": call},
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()["result"]
        return result

    results = _all_at_once(attempt)
    booked = [result for result in results if not result.get("isError")]
    refused = [result["content"][0]["text"] for result in results if result.get("isError")]
    assert len(booked) == 1, results
    assert len(refused) == ATTEMPTS - 1
    assert all("This slot is no longer available" in text for text in refused), refused
    [appointment] = cluster.domain.appointments(patient.id, None)
    assert appointment.slot.id == slot
    assert appointment.slot.appointment_id == appointment.appointment.id


def test_a_revocation_on_one_replica_is_refused_by_both_mcp_servers(cluster: Cluster) -> None:
    """Each MCP server polls the revocation feed of its own authorization server replica: the
    event, a row of the shared database, reaches both (tests/e2e/test_revocation_events.py
    covers each kind of revocation on both databases)."""
    one, _two = cluster.auth
    client_id = cluster.public_client()
    token = tokens_for(one, client_id, cluster.account().email, scope="read:data")["access_token"]
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "search_hospitals", "arguments": {"city": "Lyon"}}}
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {token}"}
    for mcp in cluster.mcp:  # cached by both
        assert httpx.post(mcp, json=call, headers=headers, timeout=30).status_code == 200
    with one.http() as http:
        assert http.post("/revoke", data={"token": token, "client_id": client_id}).status_code \
            == 200
    newest = max(event.id or 0 for event in cluster.store.security_events(cluster.resource, 0,
                                                                           1000))
    for mcp in cluster.mcp:
        metrics = mcp.removesuffix("/mcp") + "/metrics"
        deadline = time.monotonic() + 30
        while _position(httpx.get(metrics, timeout=10).text) < newest:
            assert time.monotonic() < deadline, f"{mcp} never processed event {newest}"
            time.sleep(0.05)
        assert httpx.post(mcp, json=call, headers=headers, timeout=30).status_code == 401


def _position(metrics: str) -> float:
    found = re.search(r"^hospiai_security_events_position (\S+)$", metrics, re.MULTILINE)
    return float(found.group(1)) if found else 0.0

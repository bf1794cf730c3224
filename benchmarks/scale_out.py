"""(h) Scale-out (issue 14): two authorization server replicas and two MCP server replicas on
one PostgreSQL database (each MCP replica introspecting at its own authorization server, as
tests/e2e/test_replicas.py runs them), /introspect and the refresh grant through both replicas
against one replica, in alternating rounds, wrk's CONNECTIONS split between the replicas.

Every server shares the server core, so on this 2-core machine the figure is a check of
correctness and contention across replicas rather than a speed-up. Correctness during the load:
no non-2xx answer, and a grant refreshed alternately on the two replicas, each time with the
token the other one just rotated, must never trip reuse detection (its last access token is
then still accepted by both MCP replicas)."""

from __future__ import annotations

import datetime
import json
import math
import os
import secrets
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import httpx

from authserver.security import Keys
from authserver.store import Store
from benchmarks.introspection import basic_form, provision_auth
from benchmarks.measure import (
    CONNECTIONS,
    DURATION,
    compare,
    database,
    request_script,
    start,
    wrk_script,
)
from benchmarks.refresh import REFRESH_DURATION, TOKENS, refresh_script, seed_tokens
from benchmarks.revocation import CALL, MCP_HEADERS
from mcpserver.domain.seed import seed_demo
from mcpserver.domain.store import DomainStore
from shared.clock import unix_now
from shared.database import create_db_engine
from tests.servers import free_port

REPLICAS = 2
TITLE = f"(h) scale-out on one PostgreSQL, {REPLICAS} replicas of each service against 1"


@dataclass
class _Cluster:
    auth: list[str]
    mcp: list[str]
    store: Store
    keys: Keys
    ids: dict[str, str]
    resource: str
    # Failures of the cross-replica refresh chains and MCP calls: each must stay empty.
    failures: list[str] = field(default_factory=list)
    chained: list[int] = field(default_factory=list)

    def refresh(self, replica: str, token: str) -> httpx.Response:
        return httpx.post(f"{replica}/token", timeout=30, data={
            "grant_type": "refresh_token", "client_id": self.ids["client_id"],
            "refresh_token": token})


def bench_scale_out() -> None:
    if not os.environ.get("HOSPIAI_TEST_POSTGRES_URL"):
        print(f"{TITLE}: set HOSPIAI_TEST_POSTGRES_URL to measure it\n")
        return
    work = Path(tempfile.mkdtemp(prefix="hospiai-bench-scale-"))
    try:
        with database("postgresql", work) as url, _cluster(url, work) as cluster:
            print(f"{TITLE}: every server on the server core, so on 2 cores this checks "
                  f"correctness and contention more than it measures a speed-up")
            _introspection(cluster, work)
            _refresh(cluster, work)
            print(f"  correctness: {sum(cluster.chained)} refreshes of one grant alternating "
                  f"between the replicas during the load, its last access token then "
                  f"accepted by both MCP replicas; failures (a time-out included): "
                  f"{len(cluster.failures)} (must be 0)")
            for failure in cluster.failures[:5]:
                print(f"    {failure}")
            print()
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextmanager
def _cluster(url: str, work: Path) -> Iterator[_Cluster]:
    auth_ports = [free_port() for _ in range(REPLICAS)]
    mcp_ports = [free_port() for _ in range(REPLICAS)]
    # Behind a load balancer every replica has the same public URLs; here, the first's.
    issuer, resource = f"http://127.0.0.1:{auth_ports[0]}", f"http://127.0.0.1:{mcp_ports[0]}/mcp"
    secret_key, now = secrets.token_urlsafe(32), unix_now()
    ids = provision_auth(url, resource, secret_key)
    domain = DomainStore(create_db_engine(url))
    domain.upgrade_schema()
    seed_demo(domain, datetime.date.today(), now=now)
    domain.dispose()
    auth = {"issuer": issuer, "secret_key": secret_key, "database_url": url,
            "default_resource": resource, "access_token_ttl": 3600}
    processes: list[subprocess.Popen[bytes]] = []
    store = Store(create_db_engine(url))
    try:
        for index, port in enumerate(auth_ports):
            processes.append(start("auth", port, _config(work, f"auth-{index}", {"auth": auth})))
        for index, port in enumerate(mcp_ports):
            mcp = {"resource": resource, "issuer": issuer, "client_id": ids["rs_id"],
                   "client_secret": ids["rs_secret"], "database_url": url, "cache_ttl": 30,
                   "introspection_url": f"http://127.0.0.1:{auth_ports[index]}/introspect"}
            processes.append(start("mcp", port, _config(work, f"mcp-{index}", {"mcp": mcp})))
        yield _Cluster([f"http://127.0.0.1:{port}" for port in auth_ports],
                       [f"http://127.0.0.1:{port}/mcp" for port in mcp_ports],
                       store, Keys(secret_key), ids, resource)
    finally:
        # The authorization servers last: the MCP servers poll them until they stop.
        for process in reversed(processes):
            process.terminate()
            process.wait(timeout=30)
        store.dispose()


def _config(work: Path, name: str, config: dict[str, object]) -> Path:
    path = work / f"{name}.json"
    path.write_text(json.dumps(config))
    return path


def _together(runs: Sequence[Callable[[], dict[str, float]]]) -> dict[str, float]:
    """The runs at once (each its own wrk, all on the load core): their sum."""
    with ThreadPoolExecutor(len(runs)) as pool:
        results = list(pool.map(lambda run: run(), runs))
    rps = sum(r["rps"] for r in results)
    return {"rps": rps, "p99_ms": max(r["p99_ms"] for r in results),
            "errors": sum(r["errors"] for r in results),
            # Each server's CPU per request, weighted by its share of the requests.
            "cpu_us": sum(r["cpu_us"] * r["rps"] for r in results) / rps if rps else math.nan}


def _chain(cluster: _Cluster, stop: threading.Event) -> None:
    """One grant refreshed on each replica in turn until ``stop``; then its access token
    called on every MCP replica, each asking its own authorization server."""
    token, answer, count = seed_tokens(cluster.store, cluster.keys, cluster.ids["client_id"],
                                 cluster.resource, 1)[0], None, 0
    while not stop.is_set():
        try:
            answer = cluster.refresh(cluster.auth[count % REPLICAS], token)
        except httpx.HTTPError as error:
            cluster.failures.append(f"refresh {count + 1}: {error!r}")
            return
        count += 1
        if answer.status_code != 200:
            cluster.failures.append(f"refresh {count}: {answer.status_code} {answer.text}")
            return
        token = answer.json()["refresh_token"]
    cluster.chained.append(count)
    if answer is None:
        return
    bearer = {**MCP_HEADERS, "Authorization": f"Bearer {answer.json()['access_token']}"}
    for mcp in cluster.mcp:
        try:
            call = httpx.post(mcp, json=CALL, headers=bearer, timeout=30)
        except httpx.HTTPError as error:
            cluster.failures.append(f"tools/call at {mcp}: {error!r}")
            continue
        if call.status_code != 200 or call.json()["result"].get("isError"):
            cluster.failures.append(f"tools/call at {mcp}: {call.status_code} {call.text}")


def _access_token(cluster: _Cluster) -> str:
    client_id = cluster.ids["client_id"]
    value = seed_tokens(cluster.store, cluster.keys, client_id, cluster.resource, 1)[0]
    answer = cluster.refresh(cluster.auth[0], value)
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def _introspection(cluster: _Cluster, work: Path) -> None:
    form = basic_form(cluster.ids["rs_id"], cluster.ids["rs_secret"])
    script = request_script("POST", f"token={_access_token(cluster)}", form, work)

    def through(replicas: list[str]) -> dict[str, float]:
        return _together([
            partial(wrk_script, f"{replica}/introspect", script, DURATION,
                    CONNECTIONS // len(replicas))
            for replica in replicas])

    _against_one(cluster, f"POST /introspect, wrk -d{DURATION}", through)


def _refresh(cluster: _Cluster, work: Path) -> None:
    client_id = cluster.ids["client_id"]

    def through(replicas: list[str]) -> dict[str, float]:
        # Every replica's tokens stored before any load starts.
        share = len(replicas)
        runs = [
            partial(wrk_script, f"{replica}/token", refresh_script(work, client_id, seed_tokens(
                cluster.store, cluster.keys, client_id, cluster.resource, TOKENS // share,
            ), f"scale-{index}"), REFRESH_DURATION, CONNECTIONS // share)
            for index, replica in enumerate(replicas)]
        if len(replicas) == 1:
            return _together(runs)
        stop = threading.Event()
        chain = threading.Thread(target=_chain, args=(cluster, stop))
        chain.start()
        try:
            return _together(runs)
        finally:
            stop.set()
            chain.join()

    _against_one(cluster, f"refresh grant with rotation, wrk -d{REFRESH_DURATION}", through)


def _against_one(
    cluster: _Cluster, what: str, through: Callable[[list[str]], dict[str, float]]
) -> None:
    """``through(replicas)`` on the first replica, then on all, in alternating rounds. The
    target: the replicas lose at most a tenth to their contention on one core and one
    database (more than one core would be needed to gain)."""
    compare(
        f"{TITLE}: {what}, -c{CONNECTIONS} split between the replicas",
        0.9,
        ("1 authorization server (baseline)", lambda: through(cluster.auth[:1])),
        (f"{REPLICAS} authorization servers", lambda: through(cluster.auth)),
    )

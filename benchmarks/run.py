"""HospiAI Connect benchmark: prints figures and ratios against baselines measured in the same
run. Servers run on core 0, the load generator (wrk) on core 1; every load is bounded in time.

(a) MCP tools/call with a cached token vs the same FastMCP app with no auth.
(b) AS introspection (authenticated, real SQLite) vs a bare Starlette endpoint, same uvicorn setup;
    with, for reference, the AS's own HTTP stack answering without any check or database read,
    and introspection's own work (parse, two HMACs, the read, the answer) with no stack at all;
    and the AS on PostgreSQL vs the same AS on SQLite.
(c) Booking under 50 concurrent clients: throughput, no double booking, nothing lost.
(d) The refresh grant with rotation, this code against BENCH_BASE's, on SQLite and PostgreSQL.
(e) MCP tools/call of a logged tool with the health-data access log on vs off (issue 16).
(f) Revocation reaching two MCP replicas through the revocation feed, and the feed's cost on
    tools/call (issue 14).
(g) /introspect and the refresh grant against node-oidc-provider on SQLite (issue 14).
(h) Scale-out: two replicas of each service on one PostgreSQL against one (issue 14).
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.introspection import (
    EMAIL,
    PASSWORD,
    Remote,
    access_token,
    bench_introspection,
    login_burst,
    provision_auth,
)
from benchmarks.introspection import PORTS as INTROSPECTION_PORTS
from benchmarks.measure import (
    CONNECTIONS,
    DURATION,
    LOAD_CORE,
    SERVER_CORE,
    compare,
    rss,
    start,
    wrk,
)
from benchmarks.refresh import bench_refresh
from benchmarks.revocation import bench_revocation
from benchmarks.scale_out import bench_scale_out
from benchmarks.versus_peer import bench_versus_peer
from mcpserver.domain.seed import seed_demo
from mcpserver.domain.store import DomainStore
from shared.clock import unix_now
from shared.database import create_db_engine
from tests.flow import tokens_for

PORTS = {"auth": 19000, "mcp": 18000, "mcp-noauth": 18001, "mcp-unlogged": 18002,
         "bare": INTROSPECTION_PORTS["bare"], "auth-stack": INTROSPECTION_PORTS["auth-stack"],
         "auth-floor": INTROSPECTION_PORTS["auth-floor"],
         "mcp-2": 18003, "mcp-nofeed": 18004}
MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


def _provision(work: Path) -> dict[str, Any]:
    issuer = f"http://127.0.0.1:{PORTS['auth']}"
    resource = f"http://127.0.0.1:{PORTS['mcp']}/mcp"
    secret_key = secrets.token_urlsafe(32)
    auth_db = f"sqlite:///{work / 'auth.sqlite3'}"
    ids = provision_auth(auth_db, resource, secret_key)
    domain = DomainStore(create_db_engine(f"sqlite:///{work / 'mcp.sqlite3'}"))
    domain.upgrade_schema()
    seed_demo(domain, datetime.date.today(), now=unix_now())
    return {
        "auth": {"issuer": issuer, "secret_key": secret_key, "database_url": auth_db,
                 "default_resource": resource, "access_token_ttl": 3600,
                 # tests.flow signs in and consents on the English pages.
                 "default_locale": "en",
                 # The login burst's sign-ins are all in flight at once, which the throttle
                 # counts until each succeeds.
                 "login_failures_per_account": 100, "login_failures_per_network": 10_000},
        "mcp": {"resource": resource, "issuer": issuer, "client_id": ids["rs_id"],
                "client_secret": ids["rs_secret"],
                "database_url": f"sqlite:///{work / 'mcp.sqlite3'}", "cache_ttl": 30},
        "client_id": ids["client_id"],
    }


def _start(kind: str, config_path: Path) -> subprocess.Popen[bytes]:
    return start(kind, PORTS[kind], config_path)


async def _booking_race(config: dict[str, Any], token: str, work: Path) -> str:
    """50 clients: each books its own slot, and all 50 also race for one shared slot."""
    domain = DomainStore(create_db_engine(config["mcp"]["database_url"]))
    views = domain.free_slots(start=unix_now(), end=2**40, hospital_id=None, doctor_id=None,
                              specialty="cardiology", limit=51)
    shared, own = views[0].slot.id, [v.slot.id for v in views[1:]]
    url = config["mcp"]["resource"]
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {token}"}

    async def book(client: httpx.AsyncClient, slot: str, index: int) -> tuple[bool, float]:
        body = {"jsonrpc": "2.0", "id": index, "method": "tools/call",
                "params": {"name": "book_appointment",
                           "arguments": {"slot_id": slot, "reason": "Benchmark booking"}}}
        started = time.perf_counter()
        response = await client.post(url, json=body, headers=headers)
        elapsed = time.perf_counter() - started
        result = response.json()["result"]
        return (not result.get("isError", False)), elapsed

    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        started = time.perf_counter()
        results = await asyncio.gather(
            *(book(client, slot, i) for i, slot in enumerate(own)),
            *(book(client, shared, 100 + i) for i in range(50)),
        )
        wall = time.perf_counter() - started
    own_ok = sum(ok for ok, _ in results[:50])
    shared_ok = sum(ok for ok, _ in results[50:])
    latencies = sorted(elapsed for _, elapsed in results)
    booked = domain.appointments(_sub(config, token), None)
    holders = {v.slot.id for v in booked}
    return (
        f"  100 bookings by 50 concurrent clients in {wall:.2f} s ({100 / wall:.0f}/s), "
        f"p99 {latencies[98] * 1000:.0f} ms\n"
        f"  own slots: {own_ok}/50 booked; shared slot: {shared_ok} success(es) of 50 "
        f"(must be 1)\n"
        f"  stored appointments: {len(booked)} (must be {own_ok + shared_ok}); distinct slots: "
        f"{len(holders)} (must be equal)"
    )


def _sub(config: dict[str, Any], token: str) -> str:
    rs = config["mcp"]
    info = httpx.post(f"{config['auth']['issuer']}/introspect", data={"token": token},
                      auth=(rs["client_id"], rs["client_secret"])).json()
    return str(info["sub"])


def main() -> None:
    parts = sys.argv[1:] or ["a", "e", "f", "b", "g", "c", "d", "h"]
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is required: apt-get install wrk")
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="hospiai-bench-"))
    config = _provision(work)
    config_path = work / "config.json"
    config_path.write_text(json.dumps(config))
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        # Inside the try: a server that fails to start stops the ones started before it.
        for kind in PORTS:
            processes[kind] = _start(kind, config_path)
        token = access_token(config["auth"]["issuer"], config["client_id"])
        print(f"HospiAI Connect benchmark: wrk -t1 -c{CONNECTIONS} -d{DURATION}; servers on core "
              f"{SERVER_CORE}, load on core {LOAD_CORE}; uvicorn uvloop+httptools, 1 worker\n")
        print(f"RSS after start-up and one login (target <= 150 MiB each): {rss(processes)}")
        burst = login_burst(config["auth"]["issuer"], config["client_id"])
        print(f"RSS after {burst} (target <= 150 MiB each): {rss(processes)}\n")
        if "a" in parts:
            call = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
                "name": "get_hospital", "arguments": {"hospital_id": "lyon-1"}}})
            noauth_url = f"http://127.0.0.1:{PORTS['mcp-noauth']}/mcp"
            bearer = {**MCP_HEADERS, "Authorization": f"Bearer {token}"}
            compare(
                "(a) tools/call get_hospital",
                0.95,
                ("no auth (baseline)", lambda: wrk(noauth_url, "POST", call, MCP_HEADERS, work)),
                (
                    "introspection guard, cached token",
                    lambda: wrk(config["mcp"]["resource"], "POST", call, bearer, work),
                ),
            )
        if "e" in parts:
            mine = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
                "name": "list_my_appointments", "arguments": {}}})
            bearer = {**MCP_HEADERS, "Authorization": f"Bearer {token}"}
            unlogged_url = f"http://127.0.0.1:{PORTS['mcp-unlogged']}/mcp"
            compare(
                "(e) tools/call list_my_appointments, health-data access log on vs off",
                0.90,
                ("access log off (baseline)",
                 lambda: wrk(unlogged_url, "POST", mine, bearer, work)),
                ("access log on (as served)",
                 lambda: wrk(config["mcp"]["resource"], "POST", mine, bearer, work)),
            )
        if "f" in parts:
            bench_revocation(
                config["auth"]["issuer"], config["client_id"],
                [config["mcp"]["resource"], f"http://127.0.0.1:{PORTS['mcp-2']}/mcp"],
                lambda: tokens_for(Remote(config["auth"]["issuer"]), config["client_id"],  # type: ignore[arg-type]
                                   EMAIL, password=PASSWORD, scope="read:data offline_access"),
                f"http://127.0.0.1:{PORTS['mcp-nofeed']}/mcp", work,
            )
        if "b" in parts:
            bench_introspection(config, work)
        if "g" in parts:
            bench_versus_peer(work)
        if "d" in parts:
            for backend in ("sqlite", "postgresql"):
                if backend == "postgresql" and not os.environ.get("HOSPIAI_TEST_POSTGRES_URL"):
                    print("(d) PostgreSQL: set HOSPIAI_TEST_POSTGRES_URL to measure it\n")
                    continue
                bench_refresh(backend)
        if "c" in parts:
            print("(c) booking under 50 concurrent clients")
            # A token of its own: (f) revoked the grant of the run's first one.
            booking = access_token(config["auth"]["issuer"], config["client_id"])
            print(asyncio.run(_booking_race(config, booking, work)))
        if "h" in parts:
            bench_scale_out()
        print(f"\nRSS after the load (target <= 150 MiB each): {rss(processes)}")
        print(f"make bench took {time.monotonic() - started:.0f} s (target < 600 s)")
    finally:
        # The authorization server last: the MCP servers poll it until they stop.
        for process in reversed(processes.values()):
            process.terminate()
            process.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

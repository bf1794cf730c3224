"""(b) Introspection: the AS on SQLite against a bare Starlette endpoint (with, for reference,
the AS's own HTTP stack answering without any check, and introspection's own work with no stack
at all: the floor), and the AS on PostgreSQL against the same AS on SQLite (issue 14:
PostgreSQL is the production database)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from authserver.provisioning import create_account, create_client, create_resource_server
from authserver.security import Keys
from authserver.store import Store
from benchmarks.measure import SERVER_CORE, Run, compare, database, start, watch, wrk
from shared.clock import unix_now
from shared.database import create_db_engine
from tests.flow import tokens_for
from tests.servers import wait_until_answering

PORTS = {"bare": 19001, "auth-stack": 19002, "auth-pg": 19003, "production": 19004,
         "auth-floor": 19005}
EMAIL, PASSWORD = "bench@hospiai.test", "bench-password-1"


class Remote:
    """An authorization server process, as tests.flow drives one."""

    def __init__(self, url: str) -> None:
        self.url = url

    def http(self) -> httpx.Client:
        # tests.flow reads the English pages; the server's default language is French.
        return httpx.Client(base_url=self.url, timeout=30, headers={"Accept-Language": "en"})


def provision_auth(database_url: str, resource: str, secret_key: str) -> dict[str, str]:
    """The resource server, the public client and the account every section uses."""
    store = Store(create_db_engine(database_url))
    try:
        store.upgrade_schema()
        keys, now = Keys(secret_key), unix_now()
        rs = create_resource_server(store, keys, resource=resource, name="MCP", now=now)
        client = create_client(store, keys, name="bench", public=True, now=now,
                               redirect_uris=["http://127.0.0.1:5555/callback"])
        create_account(store, email=EMAIL, password=PASSWORD, given_name="Bench",
                       family_name="Mark", now=now)
    finally:
        store.dispose()
    return {"client_id": client.id, "rs_id": rs.id, "rs_secret": rs.secret or ""}


def access_token(issuer: str, client_id: str) -> str:
    tokens = tokens_for(Remote(issuer), client_id, EMAIL, password=PASSWORD,  # type: ignore[arg-type]
                        scope="read:data write:bookings read:bookings")
    return str(tokens["access_token"])


def login_burst(issuer: str, client_id: str, logins: int = 96, concurrent: int = 32) -> str:
    """``logins`` sign-ins through the authorization flow, ``concurrent`` at a time: each
    pays one argon2id verification (19 MiB of memory while it runs)."""
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrent) as pool:
        list(pool.map(lambda _: access_token(issuer, client_id), range(logins)))
    wall = time.perf_counter() - started
    return f"{logins} logins, {concurrent} at a time, in {wall:.1f} s"


def _production(config: dict[str, Any], benchmarked: Run, form: dict[str, str], token: str,
                work: Path) -> None:
    """`hospiai authserver` itself, configured from the environment as compose runs it, on the
    benchmark's database: what production serves against what the other sections measure."""
    auth, port = config["auth"], PORTS["production"]
    env = {**os.environ, "HOSPIAI_ISSUER": auth["issuer"], "HOSPIAI_SECRET_KEY": auth["secret_key"],
           "HOSPIAI_AUTH_DATABASE_URL": auth["database_url"], "HOSPIAI_AUTH_PORT": str(port),
           "HOSPIAI_AUTH_HOST": "127.0.0.1", "HOSPIAI_DEFAULT_RESOURCE": auth["default_resource"]}
    process = subprocess.Popen(
        ["taskset", "-c", SERVER_CORE, sys.executable, "-m", "hospiai.cli", "authserver"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    watch(port, process)
    try:
        wait_until_answering(f"http://127.0.0.1:{port}/", process)
        compare(
            "(b) introspection, the production command against the benchmark's server",
            0.95,
            ("POST /introspect, benchmarks.servers (baseline)", benchmarked),
            ("POST /introspect, `hospiai authserver`",
             lambda: wrk(f"http://127.0.0.1:{port}/introspect", "POST", f"token={token}", form,
                         work)),
        )
    finally:
        process.terminate()
        process.wait(timeout=30)


def basic_form(rs_id: str, rs_secret: str) -> dict[str, str]:
    basic = base64.b64encode(f"{rs_id}:{rs_secret}".encode()).decode()
    return {"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Basic {basic}"}


def bench_introspection(config: dict[str, Any], work: Path) -> None:
    form = basic_form(config["mcp"]["client_id"], config["mcp"]["client_secret"])
    introspect_url = f"{config['auth']['issuer']}/introspect"
    # A token of its own: (f) revokes the benchmark user's grant, which held the run's first
    # token, and an inactive token's answer skips most of introspection's work.
    token = access_token(config["auth"]["issuer"], config["client_id"])
    answer = httpx.post(introspect_url, content=f"token={token}", headers=form).json()
    assert answer.get("active") is True, answer
    stack_url = f"http://127.0.0.1:{PORTS['auth-stack']}/introspect"
    floor_url = f"http://127.0.0.1:{PORTS['auth-floor']}/introspect"

    def sqlite() -> dict[str, float]:
        return wrk(introspect_url, "POST", f"token={token}", form, work)

    compare(
        "(b) introspection",
        0.45,
        ("bare Starlette endpoint (baseline)",
         lambda: wrk(f"http://127.0.0.1:{PORTS['bare']}/bare", "POST", f"token={token}", form,
                     work)),
        ("POST /introspect, real SQLite", sqlite),
        [("our stack, no check (reference)",
          lambda: wrk(stack_url, "POST", f"token={token}", form, work)),
         ("the read and answer alone, no stack (floor)",
          lambda: wrk(floor_url, "POST", f"token={token}", form, work))],
    )
    _production(config, sqlite, form, token, work)
    if not os.environ.get("HOSPIAI_TEST_POSTGRES_URL"):
        print("(b) PostgreSQL: set HOSPIAI_TEST_POSTGRES_URL to measure it\n")
        return
    with database("postgresql", work) as url:
        issuer = f"http://127.0.0.1:{PORTS['auth-pg']}"
        secret_key = config["auth"]["secret_key"]
        ids = provision_auth(url, config["mcp"]["resource"], secret_key)
        path = work / "auth-pg.json"
        path.write_text(json.dumps({"auth": {**config["auth"], "issuer": issuer,
                                             "database_url": url}}))
        process = start("auth", PORTS["auth-pg"], path)
        try:
            pg_token = access_token(issuer, ids["client_id"])
            pg_form = basic_form(ids["rs_id"], ids["rs_secret"])
            compare(
                "(b) introspection, PostgreSQL against SQLite",
                0.80,
                ("POST /introspect, SQLite (baseline)", sqlite),
                ("POST /introspect, PostgreSQL",
                 lambda: wrk(f"{issuer}/introspect", "POST", f"token={pg_token}", pg_form, work)),
            )
        finally:
            process.terminate()
            process.wait(timeout=30)

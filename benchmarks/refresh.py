"""(d) The refresh grant with rotation, on SQLite and on PostgreSQL: this code against the code
of ``BENCH_BASE`` (default ``main``), both serving the same database in alternating rounds.

Every request spends a refresh token of its own grant (a connected assistant refreshes once an
hour, so a grant's last use is written on each of its refreshes); the tokens are stored before
each round, straight into the tables, as many as the round could possibly spend."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from authserver.models import Account, Grant, RefreshToken
from authserver.provisioning import create_client, create_resource_server
from authserver.security import Keys
from authserver.store import Store
from benchmarks.measure import CONNECTIONS, compare, database, start, wrk_script
from shared.clock import unix_now
from shared.database import create_db_engine

REFRESH_DURATION = os.environ.get("BENCH_REFRESH_DURATION", "5s")
# Tokens stored per round: more than a round can spend at 4,000 refreshes a second.
TOKENS = 4000 * int(REFRESH_DURATION.rstrip("s"))
PORTS = {"after": 19020, "before": 19021}


def _base() -> str:
    """BENCH_BASE, or where this branch left main (main itself may have moved its schema on)."""
    return os.environ.get("BENCH_BASE") or subprocess.run(
        ["git", "merge-base", "HEAD", "main"], capture_output=True, text=True, check=True
    ).stdout.strip()


def _base_checkout(work: Path, base: str) -> Path:
    """The code of ``base``, unpacked from git (no worktree, no checkout touched)."""
    archive = subprocess.run(["git", "archive", base], capture_output=True, check=True).stdout
    folder = work / "base"
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def seed_tokens(store: Store, keys: Keys, client_id: str, resource: str, count: int) -> list[str]:
    """``count`` accounts, each with one grant and one live refresh token: their values."""
    now, tag = unix_now(), secrets.token_hex(4)
    values = [secrets.token_urlsafe(32) for _ in range(count)]
    accounts, grants, tokens = [], [], []
    for index, value in enumerate(values):
        account_id, grant_id = f"acct_{tag}_{index}", f"grant_{tag}_{index}"
        accounts.append({"id": account_id, "email": f"{account_id}@bench.test",
                         "email_key": f"{account_id}@bench.test", "password_hash": "-",
                         "given_name": "B", "family_name": "M", "role": "patient",
                         "disabled": False, "created_at": now})
        grants.append({"id": grant_id, "account_id": account_id, "client_id": client_id,
                       "scope": "read:data offline_access", "resource": resource,
                       "created_at": now})
        tokens.append({"token_hash": keys.hash_secret(value), "grant_id": grant_id,
                       "client_id": client_id, "account_id": account_id,
                       "scope": "read:data offline_access", "resource": resource,
                       "issued_at": now, "expires_at": now + 86400})
    with store._engine.begin() as connection:
        for table, rows in ((Account, accounts), (Grant, grants), (RefreshToken, tokens)):
            connection.execute(insert(table.__table__), rows)  # type: ignore[union-attr]
    return values


def refresh_script(work: Path, client_id: str, values: list[str], name: str) -> Path:
    tokens = work / f"{name}.tokens"
    tokens.write_text("\n".join(values) + "\n")
    script = work / f"{name}.lua"
    script.write_text(f"""
local tokens = {{}}
for line in io.lines("{tokens}") do tokens[#tokens + 1] = line end
local next_token = 0
local headers = {{["Content-Type"] = "application/x-www-form-urlencoded"}}
request = function()
  next_token = next_token + 1
  local body = "grant_type=refresh_token&client_id={client_id}&refresh_token="
    .. tokens[(next_token - 1) % #tokens + 1]
  return wrk.format("POST", "/token", headers, body)
end
""")
    return script


def _round(store: Store, keys: Keys, config: dict[str, Any], work: Path, side: str) -> Any:
    """One round of one side (wrk_script charges its server with its CPU time per refresh, a
    figure the other helpers' load on this machine does not move, unlike the rate)."""
    resource = config["auth"]["default_resource"]
    values = seed_tokens(store, keys, config["client_id"], resource, TOKENS)
    script = refresh_script(work, config["client_id"], values, side)
    return wrk_script(f"http://127.0.0.1:{PORTS[side]}/token", script, REFRESH_DURATION)


def bench_refresh(backend: str) -> list[dict[str, float]]:
    work = Path(tempfile.mkdtemp(prefix="hospiai-bench-refresh-"))
    try:
        with database(backend, work) as url:
            return _measure(backend, url, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _measure(backend: str, url: str, work: Path) -> list[dict[str, float]]:
    store = Store(create_db_engine(url))
    store.upgrade_schema()
    secret, now = secrets.token_urlsafe(32), unix_now()
    keys = Keys(secret)
    resource = "http://127.0.0.1:18000/mcp"
    create_resource_server(store, keys, resource=resource, name="MCP", now=now)
    client = create_client(store, keys, name="bench", public=True, now=now,
                           redirect_uris=["http://127.0.0.1:5555/callback"])
    base_ref = _base()
    base = _base_checkout(work, base_ref)
    config: dict[str, Any] = {"client_id": client.id, "auth": {
        "secret_key": secret, "database_url": url,
        "default_resource": resource, "access_token_ttl": 3600}}
    processes = []
    try:
        for side, cwd in (("after", None), ("before", base)):
            side_config = {**config, "auth": {
                **config["auth"], "issuer": f"http://127.0.0.1:{PORTS[side]}"}}
            path = work / f"{side}.json"
            path.write_text(json.dumps(side_config))
            processes.append(start("auth", PORTS[side], path, cwd=cwd))

        def run(side: str) -> Any:
            return _round(store, keys, config, work, side)

        return compare(
            f"(d) refresh grant with rotation, {backend}, wrk -c{CONNECTIONS} "
            f"-d{REFRESH_DURATION} (target >= 1000/s, p99 < 50 ms)",
            1.0,
            (f"before ({base_ref[:10]})", lambda: run("before")),
            ("after (this code)", lambda: run("after")),
        )
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        store.dispose()

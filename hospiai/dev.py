"""``hospiai dev``: both services on localhost with demo data, for trying HospiAI Connect.

First start: a development secret, the MCP server's resource-server credentials and the demo
accounts are created under the data directory; later starts reuse them. Nothing here runs
outside ``dev``."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import secrets
import signal
import socket
import sys
import time
from datetime import date
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from authserver.app import create_app as create_auth_app
from authserver.provisioning import add_membership, create_account, create_resource_server
from authserver.security import Keys
from authserver.settings import Settings as AuthSettings
from authserver.store import Store
from mcpserver.app import create_app as create_mcp_app
from mcpserver.domain.seed import seed_demo
from mcpserver.domain.store import DomainStore
from mcpserver.settings import Settings as McpSettings
from shared.clock import unix_now
from shared.database import create_db_engine
from shared.serving import Server

# The MCP Inspector's web page (`npx @modelcontextprotocol/inspector`), which calls /mcp from
# the browser in its direct connection mode.
INSPECTOR_ORIGINS = ("http://localhost:6274", "http://127.0.0.1:6274")

DEMO_ACCOUNTS = (
    ("patient@hospiai.test", "patient-demo-pass", "Paula", "Petit", "patient"),
    ("patient2@hospiai.test", "patient2-demo-pass", "Pierre", "Moreau", "patient"),
    ("staff@hospiai.test", "staff-demo-pass", "Sophie", "Laurent", "staff"),
    ("admin@hospiai.test", "admin-demo-pass", "Adrien", "Roux", "admin"),
)
# The demo staff account's desk: it changes these hospitals' data, and no other.
DEMO_STAFF_HOSPITALS = ("paris-1", "paris-2")


def _private_file(path: Path, content: str) -> None:
    path.write_text(content)
    path.chmod(0o600)


def _secret_key(data_dir: Path) -> str:
    path = data_dir / "dev-secret-key"
    if not path.exists():
        _private_file(path, secrets.token_urlsafe(32))
    return path.read_text().strip()


def credentials_file(data_dir: Path, mcp_port: int) -> Path:
    """The MCP server's resource-server credentials at the authorization server, per port."""
    return data_dir / f"mcp-credentials-{mcp_port}.json"


def prepare(data_dir: Path, *, auth_port: int, mcp_port: int) -> tuple[AuthSettings, McpSettings]:
    """Create (once) and load everything both services need; returns their settings."""
    data_dir.mkdir(parents=True, exist_ok=True)
    issuer = f"http://localhost:{auth_port}"
    resource = f"http://localhost:{mcp_port}/mcp"
    auth = AuthSettings(
        issuer=issuer,
        secret_key=_secret_key(data_dir),
        database_url=f"sqlite:///{data_dir / 'authserver.sqlite3'}",
        default_resource=resource,
        port=auth_port,
    )
    store = Store(create_db_engine(auth.database_url))
    _say_schema(store.SERVICE, store.upgrade_schema())
    now = unix_now()
    patients = _demo_accounts(store, now)
    credentials = _mcp_credentials(
        store, Keys(auth.secret_key), credentials_file(data_dir, mcp_port), resource, now
    )
    mcp = McpSettings(
        resource=resource,
        issuer=issuer,
        client_id=credentials["id"],
        client_secret=credentials["secret"],
        database_url=f"sqlite:///{data_dir / 'mcpserver.sqlite3'}",
        port=mcp_port,
        browser_origins=INSPECTOR_ORIGINS,
    )
    domain = DomainStore(create_db_engine(mcp.database_url))
    _say_schema(domain.SERVICE, domain.upgrade_schema())
    seed_demo(domain, date.today(), int(time.time()), patients)
    return auth, mcp


def _demo_accounts(store: Store, now: int) -> list[str]:
    """The demo accounts that are missing, and the staff account's hospitals; returns the
    demo patients' ids (their `sub`s), whose past consultations the directory gets."""
    for email, password, given, family, role in DEMO_ACCOUNTS:
        if store.account_by_email(email) is None:
            create_account(store, email=email, password=password, given_name=given,
                           family_name=family, role=role, now=now)
    staff = store.account_by_email("staff@hospiai.test")
    assert staff is not None  # created just above
    for hospital_id in DEMO_STAFF_HOSPITALS:
        add_membership(store, account_id=staff.id, hospital_id=hospital_id, now=now)
    patients = [store.account_by_email(email) for email, *_, role in DEMO_ACCOUNTS
                if role == "patient"]
    return [patient.id for patient in patients if patient is not None]


def _mcp_credentials(
    store: Store, keys: Keys, path: Path, resource: str, now: int
) -> dict[str, str]:
    """The MCP server's introspection credentials, registered at the first start and kept in
    ``path`` (the secret is stored only as a hash at the authorization server)."""
    if not path.exists():
        if store.resource_server_by_resource(resource) is not None:
            raise SystemExit(f"{resource} is registered but {path} is missing; "
                             f"delete {path.parent} to start again")
        created = create_resource_server(store, keys, resource=resource, name="HospiAI MCP",
                                         now=now)
        _private_file(path, json.dumps({"id": created.id, "secret": created.secret}))
    credentials: dict[str, str] = json.loads(path.read_text())
    return credentials


def _say_schema(service: str, revisions: tuple[set[str], set[str]]) -> None:
    """One line per database, instead of alembic's (quieted by shared.logs)."""
    before, after = revisions
    migrated = "" if before == after else f", migrated from {', '.join(sorted(before)) or 'empty'}"
    print(f"{service} database at {', '.join(sorted(after))}{migrated}", flush=True)


class PortBusy(Exception):
    def __init__(self, port: int, option: str, service: str) -> None:
        super().__init__(
            f"hospiai: port {port} ({service}) is already in use: stop what is using it, "
            f"or choose another port with {option}"
        )


def _listen(port: int, option: str, service: str) -> socket.socket:
    """The loopback socket a service will serve on, bound now (uvicorn is handed it, so no
    other process can take the port in between); PortBusy if it is taken."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise PortBusy(port, option, service) from None
        raise
    return sock


def _loopback(app: ASGIApp, port: int) -> uvicorn.Config:
    return uvicorn.Config(app, host="127.0.0.1", port=port, http="httptools", log_config=None,
                          proxy_headers=False)


def _banner(auth: AuthSettings, mcp: McpSettings, data_dir: Path, credentials: Path) -> str:
    logins = "\n".join(f"    {email:24} {password}" for email, password, *_ in DEMO_ACCOUNTS)
    issuer = auth.issuer
    return (
        f"\nHospiAI Connect (development)\n"
        f"  Connector URL:  {mcp.resource}   <- paste this into your assistant\n"
        f"  Front door:     {issuer}/\n"
        f"  Sign in:        {issuer}/login\n"
        f"  Your account:   {issuer}/account   (connected apps, personal access tokens)\n"
        f"  Admin console:  {issuer}/admin   (as admin@hospiai.test)\n"
        f"  Issuer:         {issuer}   (the authorization server)\n"
        f"  MCP server's development credentials (introspection client id and secret):\n"
        f"                  {credentials}\n"
        f"  Data:           {data_dir}\n"
        f"  Demo logins:\n{logins}\n"
        f"    (staff and admin set up an authenticator app or a passkey at their first\n"
        f"     sign-in: HOSPIAI_MFA_ROLES, README \"Two-step sign-in\")\n"
        f"  Ctrl-C stops both.\n"
    )


def run_dev(data_dir: Path, *, auth_port: int, mcp_port: int) -> int:
    sockets: list[socket.socket] = []
    try:
        sockets.append(_listen(auth_port, "--auth-port", "the authorization server"))
        sockets.append(_listen(mcp_port, "--mcp-port", "the MCP server"))
    except PortBusy as busy:
        for sock in sockets:
            sock.close()
        print(busy, file=sys.stderr, flush=True)
        return 2
    auth, mcp = prepare(data_dir, auth_port=auth_port, mcp_port=mcp_port)
    # No proxy in front: uvicorn's default would believe X-Forwarded-For from any local process.
    servers = [
        Server(_loopback(create_auth_app(auth), auth_port), own_signals=False),
        Server(_loopback(create_mcp_app(mcp), mcp_port), own_signals=False),
    ]
    data = data_dir.resolve()
    print(_banner(auth, mcp, data, credentials_file(data, mcp_port)), flush=True)

    def stop() -> None:
        for server in servers:
            server.should_exit = True

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop)
        await asyncio.gather(
            *(server.serve(sockets=[sock]) for server, sock in zip(servers, sockets, strict=True))
        )

    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(main())
    return 0

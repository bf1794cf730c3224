"""`hospiai authserver` and `hospiai mcpserver` as real processes stop gracefully on SIGTERM
(what `docker compose stop` sends): new connections are refused at once, a request in flight
finishes, and the process exits 0; a request that never finishes is cut off after
HOSPIAI_SHUTDOWN_TIMEOUT seconds."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from authserver.provisioning import create_resource_server
from authserver.security import Keys
from authserver.store import Store
from mcpserver.domain.store import DomainStore
from shared.clock import unix_now
from shared.database import create_db_engine
from tests.servers import free_port, wait_until_answering

# It starts processes: handed out first, so that it never ends the run (tests/conftest.py).
pytestmark = pytest.mark.processes


def _migrated(tmp_path: Path, **env: str) -> dict[str, str]:
    """The environment, with both services' databases in ``tmp_path``, migrated here (the
    `hospiai db upgrade` command has tests of its own; a process of it cost a second or two)."""
    migrated = {
        **os.environ,
        "HOSPIAI_AUTH_DATABASE_URL": f"sqlite:///{tmp_path / 'auth.sqlite3'}",
        "HOSPIAI_MCP_DATABASE_URL": f"sqlite:///{tmp_path / 'mcp.sqlite3'}",
        **env,
    }
    for store in (Store(create_db_engine(migrated["HOSPIAI_AUTH_DATABASE_URL"])),
                  DomainStore(create_db_engine(migrated["HOSPIAI_MCP_DATABASE_URL"]))):
        store.upgrade_schema()
        store.dispose()
    return migrated


def _auth_env(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    return _migrated(
        tmp_path,
        HOSPIAI_ISSUER=f"http://127.0.0.1:{port}",
        HOSPIAI_SECRET_KEY="shutdown-test-secret-key-long-enough!!",
        HOSPIAI_AUTH_PORT=str(port),
        HOSPIAI_DEFAULT_RESOURCE="http://127.0.0.1:8000/mcp",
        **extra,
    )


def _start(env: dict[str, str], command: str, port: int) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "hospiai.cli", command], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    wait_until_answering(f"http://127.0.0.1:{port}/healthz", process)
    return process


def _stop(process: subprocess.Popen[str]) -> tuple[int, list[str], float]:
    """SIGTERM; the exit status, the log messages, and how long the stop took."""
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    messages = [json.loads(line)["message"] for line in output.splitlines() if line.strip()]
    return process.returncode, messages, time.monotonic() - started


def _wait_refused(port: int) -> None:
    """Until the listening socket is closed: a new connection is refused."""
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except ConnectionRefusedError:
            return
        assert time.monotonic() < deadline, "still accepting connections"
        time.sleep(0.02)


def _request_in_flight(port: int, body: bytes, authorization: str) -> socket.socket:
    """POST /introspect with only the headers sent. `Expect: 100-continue` makes the server
    answer "100 Continue" once the application waits for the body: the request is then
    certainly in flight."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(
        f"POST /introspect HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: {authorization}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n".encode()
    )
    assert sock.recv(1024) == b"HTTP/1.1 100 Continue\r\n\r\n"
    return sock


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode().split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), headers, body


def _resource_server(env: dict[str, str]) -> str:
    """Basic credentials of a new resource server in the server's database."""
    store = Store(create_db_engine(env["HOSPIAI_AUTH_DATABASE_URL"]))
    try:
        created = create_resource_server(
            store, Keys(env["HOSPIAI_SECRET_KEY"]), resource="http://127.0.0.1:8000/mcp",
            name="MCP", now=unix_now(),
        )
    finally:
        store.dispose()
    pair = f"{created.id}:{created.secret}"
    return f"Basic {base64.b64encode(pair.encode()).decode()}"


def test_sigterm_refuses_new_connections_and_lets_a_request_in_flight_finish(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = _auth_env(tmp_path, port)
    authorization = _resource_server(env)
    process = _start(env, "authserver", port)
    body = urlencode({"token": "hospiai_at_not-a-real-token"}).encode()
    sock = _request_in_flight(port, body, authorization)

    process.send_signal(signal.SIGTERM)
    _wait_refused(port)
    sock.sendall(body)
    status, headers, answer = _read_response(sock)
    sock.close()
    assert (status, json.loads(answer)) == (200, {"active": False})
    assert headers["connection"] == "close"

    returncode, messages, seconds = _stop(process)
    assert returncode == 0, messages
    assert seconds < 10  # well inside the 20 s shutdown timeout: nothing was waited for
    assert "Shutting down" in messages and "Application shutdown complete." in messages
    assert not any("timeout graceful shutdown exceeded" in message for message in messages)


def test_a_request_that_never_finishes_is_cut_off_at_the_shutdown_timeout(
    tmp_path: Path,
) -> None:
    port = free_port()
    process = _start(_auth_env(tmp_path, port, HOSPIAI_SHUTDOWN_TIMEOUT="1"), "authserver", port)
    sock = _request_in_flight(port, b"token=x", "Basic eDp5")

    returncode, messages, seconds = _stop(process)
    sock.close()
    assert returncode == 0, messages
    assert 1 <= seconds < 10
    assert "Cancel 1 running task(s), timeout graceful shutdown exceeded" in messages
    assert "Application shutdown complete." in messages


def _mcp_env(tmp_path: Path, port: int) -> dict[str, str]:
    return _migrated(
        tmp_path,
        HOSPIAI_MCP_URL=f"http://127.0.0.1:{port}/mcp",
        HOSPIAI_ISSUER=f"http://127.0.0.1:{free_port()}",
        HOSPIAI_MCP_CLIENT_ID="rs_shutdown",
        HOSPIAI_MCP_CLIENT_SECRET="hospiai_rs_shutdown",
        HOSPIAI_MCP_PORT=str(port),
    )


def test_the_mcp_server_stops_on_sigterm_with_status_0(tmp_path: Path) -> None:
    port = free_port()
    process = _start(_mcp_env(tmp_path, port), "mcpserver", port)

    returncode, messages, seconds = _stop(process)
    assert returncode == 0, messages
    assert seconds < 10
    assert "Application shutdown complete." in messages
    assert messages[-1].startswith("Finished server process")

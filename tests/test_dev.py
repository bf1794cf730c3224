"""`hospiai dev` as a real process: it seeds on first start, reuses on the next, prints the
URLs and demo logins, serves both services, and stops cleanly on Ctrl-C (SIGINT)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.flow import REDIRECT_URI, authorize_params, csrf_token, pkce_pair
from tests.servers import bind_loopback, free_port, start_dev, wait_until_answering

# It starts processes: handed out first, so that it never ends the run (tests/conftest.py).
pytestmark = pytest.mark.processes


def test_dev_starts_both_services_with_demo_data_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    auth_port, mcp_port = free_port(), free_port()
    for _attempt in range(2):
        process = start_dev(tmp_path, auth_port, mcp_port)
        try:
            wait_until_answering(
                f"http://localhost:{auth_port}/.well-known/oauth-authorization-server", process
            )
            wait_until_answering(
                f"http://localhost:{mcp_port}/.well-known/oauth-protected-resource/mcp", process
            )
            prm = httpx.get(f"http://localhost:{mcp_port}/.well-known/oauth-protected-resource").json()
            assert prm["resource"] == f"http://localhost:{mcp_port}/mcp"
            assert prm["authorization_servers"] == [f"http://localhost:{auth_port}"]
            _inspector_may_call_mcp(f"http://localhost:{mcp_port}/mcp")
            _log_in(f"http://localhost:{auth_port}", "patient2@hospiai.test", "patient2-demo-pass")
        finally:
            process.send_signal(signal.SIGINT)
            try:
                output, _ = process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()  # not left running after the failure (it was, twice, under load)
                raise
        assert process.returncode == 0, output
        assert f"http://localhost:{mcp_port}/mcp" in output
        for login in ("patient@hospiai.test", "staff-demo-pass", "admin@hospiai.test"):
            assert login in output
        assert "Traceback" not in output, output
        _banner_and_a_short_log(output, tmp_path, auth_port, mcp_port)
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".sqlite3") == [
        "authserver.sqlite3", "mcpserver.sqlite3"
    ]
    # One process imports both services' models; each database holds only its own tables.
    assert "hospital" not in _tables(tmp_path / "authserver.sqlite3")
    assert "account" in _tables(tmp_path / "authserver.sqlite3")
    assert "account" not in _tables(tmp_path / "mcpserver.sqlite3")
    assert "hospital" in _tables(tmp_path / "mcpserver.sqlite3")
    # No proxy in front: a forwarded address sent from this machine is not believed.
    with sqlite3.connect(tmp_path / "authserver.sqlite3") as connection:
        addresses = connection.execute(
            "SELECT ip FROM auditevent WHERE event = 'login.succeeded'").fetchall()
    assert addresses == [("127.0.0.1",), ("127.0.0.1",)]


def _banner_and_a_short_log(output: str, data_dir: Path, auth_port: int, mcp_port: int) -> None:
    """Every URL a person needs and where the MCP server's credentials are; one line per
    database and no library chatter, nothing twice (issue 17 item 4)."""
    issuer = f"http://localhost:{auth_port}"
    for url in (f"{issuer}/login", f"{issuer}/account", f"{issuer}/admin", f"{issuer}/"):
        assert url in output, output
    credentials = data_dir.resolve() / f"mcp-credentials-{mcp_port}.json"
    assert str(credentials) in output and credentials.exists(), output
    # "/security-events": the MCP server's poll of the revocation feed, every second.
    for chatter in ("alembic", "Running upgrade", "Terminating session", "uvicorn.error",
                    "/security-events"):
        assert chatter not in output, output
    assert "authserver database at" in output and "mcpserver database at" in output, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == len(set(lines)), output
    assert len([line for line in lines if "uvicorn.access" not in line]) < 25, output


def test_a_busy_port_is_one_line_before_the_banner_and_status_2(tmp_path: Path) -> None:
    for option in ("--auth-port", "--mcp-port"):
        taken = bind_loopback()
        taken.listen()
        busy = taken.getsockname()[1]
        ports = {"--auth-port": free_port(), "--mcp-port": free_port(), option: busy}
        try:
            finished = subprocess.run(
                [sys.executable, "-m", "hospiai.cli", "dev", "--data-dir", str(tmp_path),
                 "--auth-port", str(ports["--auth-port"]),
                 "--mcp-port", str(ports["--mcp-port"])],
                capture_output=True, text=True, timeout=60,
            )
        finally:
            taken.close()
        assert finished.returncode == 2, finished
        assert finished.stdout == "", finished.stdout  # no banner, no migration line
        (line,) = finished.stderr.splitlines()
        assert str(busy) in line and option in line, line
    assert list(tmp_path.iterdir()) == []  # nothing was created


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {name for (name,) in rows}


def _log_in(issuer: str, email: str, password: str) -> None:
    with httpx.Client(base_url=issuer, timeout=10,
                      headers={"X-Forwarded-For": "203.0.113.9"}) as http:
        registered = http.post("/register", json={"redirect_uris": [REDIRECT_URI],
                                                   "token_endpoint_auth_method": "none"}).json()
        response = http.get("/authorize", params=authorize_params(
            registered["client_id"], pkce_pair()[1], scope="read:data"))
        assert response.status_code == 303, response.text
        interaction = response.headers["location"]
        page = http.get(interaction)
        logged_in = http.post(f"{interaction}/login", data={
            "email": email, "password": password, "csrf_token": csrf_token(page.text)})
        assert logged_in.status_code == 303, logged_in.text


def _inspector_may_call_mcp(mcp_url: str) -> None:
    """The MCP Inspector's page (both of its local origins) passes CORS and the Origin rule."""
    for origin in ("http://localhost:6274", "http://127.0.0.1:6274"):
        preflight = httpx.options(mcp_url, headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,mcp-protocol-version",
        })
        assert preflight.status_code == 200, preflight.text
        assert preflight.headers["access-control-allow-origin"] == origin
        challenge = httpx.post(mcp_url, json={}, headers={"Origin": origin})
        assert challenge.status_code == 401
        assert challenge.headers["access-control-allow-origin"] == origin

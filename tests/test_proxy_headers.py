"""Behind the reverse proxy (compose: Caddy), `hospiai authserver` and `hospiai mcpserver`, run as
real processes, take the client's address from X-Forwarded-For only on connections from an
address in HOSPIAI_FORWARDED_ALLOW_IPS, and none by default; the URLs they build never follow
the forwarded headers. The test connects from other loopback addresses (127.0.0.2 is "the
proxy", 127.0.0.3 a stranger); the forwarded addresses are documentation ones (RFC 5737)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from authserver.provisioning import create_account
from authserver.store import Store
from mcpserver.domain.store import DomainStore
from shared.clock import unix_now
from shared.database import create_db_engine
from tests.flow import csrf_token
from tests.harness import QUICK_HASH
from tests.servers import free_port, hospiai

# It starts processes: handed out first, so that it never ends the run (tests/conftest.py).
pytestmark = pytest.mark.processes

PROXY, STRANGER = "127.0.0.2", "127.0.0.3"
BROWSER, FORGED = "198.51.100.7", "203.0.113.9"
EMAIL, PASSWORD = "nurse@hospiai.test", "nurse-password-123"
# What a proxy might forward besides the address: none of it may change a URL the server builds.
MISLEADING = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}


def _hospiai(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hospiai.cli", *args], env=env,
        capture_output=True, text=True, timeout=60, check=False,
    )


def _auth_env(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    """An authorization server's environment; its database migrated, with one account (made
    in this process: tests/authserver/test_cli.py tests those commands, and each command run
    here cost a process start)."""
    database_url = f"sqlite:///{tmp_path / 'auth.sqlite3'}"
    store = Store(create_db_engine(database_url))
    try:
        store.upgrade_schema()
        create_account(store, email=EMAIL, password=PASSWORD, given_name="Nina",
                       family_name="Durand", now=unix_now(), hasher=QUICK_HASH)
    finally:
        store.dispose()
    return {
        **os.environ,
        "HOSPIAI_ISSUER": f"http://127.0.0.1:{port}",
        "HOSPIAI_SECRET_KEY": "proxy-test-secret-key-long-enough!!!!",
        "HOSPIAI_AUTH_DATABASE_URL": database_url,
        "HOSPIAI_MCP_DATABASE_URL": f"sqlite:///{tmp_path / 'mcp.sqlite3'}",
        "HOSPIAI_AUTH_PORT": str(port),
        "HOSPIAI_DEFAULT_RESOURCE": "http://127.0.0.1:8000/mcp",
        **extra,
    }


@contextmanager
def _connecting_from(address: str, url: str) -> Iterator[httpx.Client]:
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=url, transport=transport, timeout=10) as client:
        yield client


def _log_in(browser: httpx.Client, headers: dict[str, str]) -> httpx.Response:
    page = browser.get("/login", headers=headers)
    if page.status_code == 303:  # a new browser gets its cookie first
        page = browser.get(page.headers["location"], headers=headers)
    answer = browser.post("/login", headers=headers, data={
        "email": EMAIL, "password": PASSWORD, "csrf_token": csrf_token(page.text)})
    assert answer.status_code == 303, answer.text
    return answer


def _login_addresses(env: dict[str, str]) -> list[str | None]:
    store = Store(create_db_engine(env["HOSPIAI_AUTH_DATABASE_URL"]))
    try:
        return [event.ip for event in reversed(store.audit_events(event="login.succeeded"))]
    finally:
        store.dispose()


def test_the_audit_log_records_the_address_the_trusted_proxy_forwards(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # An address and a network, as an operator may write them.
    env = _auth_env(tmp_path, port, HOSPIAI_FORWARDED_ALLOW_IPS=f"10.9.0.0/16 , {PROXY}")
    with hospiai("authserver", env, f"{url}/healthz", tmp_path / "authserver.log"):
        with _connecting_from(PROXY, url) as proxy:
            answer = _log_in(proxy, {"X-Forwarded-For": BROWSER, **MISLEADING})
            # The issuer's URLs, relative redirects, and cookies for an http issuer: the
            # forwarded scheme and host change none of them.
            assert answer.headers["location"] == "/account"
            assert set(proxy.cookies) == {"hospiai_browser", "hospiai_session", "hospiai_device"}
            assert "secure" not in answer.headers["set-cookie"].lower()
            metadata = proxy.get("/.well-known/oauth-authorization-server",
                                 headers=MISLEADING).json()
            assert metadata["issuer"] == url
            assert metadata["authorization_endpoint"] == f"{url}/authorize"
            # A client can put anything before the proxy's entry; only the proxy's counts.
            _log_in(proxy, {"X-Forwarded-For": f"{FORGED}, {BROWSER}"})
        with _connecting_from(STRANGER, url) as stranger:
            _log_in(stranger, {"X-Forwarded-For": FORGED})
    assert _login_addresses(env) == [BROWSER, BROWSER, STRANGER]


def test_by_default_no_address_is_trusted_not_even_loopback(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # uvicorn's own variable, and its built-in trust of 127.0.0.1, play no part.
    env = _auth_env(tmp_path, port, FORWARDED_ALLOW_IPS="*")
    with (
        hospiai("authserver", env, f"{url}/healthz", tmp_path / "authserver.log"),
        httpx.Client(base_url=url, timeout=10) as browser,
    ):
        _log_in(browser, {"X-Forwarded-For": FORGED})
    assert _login_addresses(env) == ["127.0.0.1"]


def test_the_mcp_server_logs_the_forwarded_address_and_keeps_its_own_urls(
    tmp_path: Path,
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "HOSPIAI_MCP_URL": f"{url}/mcp",
        "HOSPIAI_ISSUER": f"http://127.0.0.1:{free_port()}",
        "HOSPIAI_MCP_CLIENT_ID": "rs_proxy",
        "HOSPIAI_MCP_CLIENT_SECRET": "hospiai_rs_proxy",
        "HOSPIAI_MCP_DATABASE_URL": f"sqlite:///{tmp_path / 'mcp.sqlite3'}",
        "HOSPIAI_AUTH_DATABASE_URL": f"sqlite:///{tmp_path / 'auth.sqlite3'}",
        "HOSPIAI_MCP_PORT": str(port),
        "HOSPIAI_FORWARDED_ALLOW_IPS": PROXY,
        # The request lines this test reads (off by default since issue 14).
        "HOSPIAI_ACCESS_LOG": "true",
    }
    domain = DomainStore(create_db_engine(env["HOSPIAI_MCP_DATABASE_URL"]))
    domain.upgrade_schema()
    domain.dispose()
    log = tmp_path / "mcpserver.log"
    with hospiai("mcpserver", env, f"{url}/healthz", log):
        with _connecting_from(PROXY, url) as proxy:
            challenge = proxy.post("/mcp", json={}, headers={"X-Forwarded-For": BROWSER,
                                                             **MISLEADING})
        with _connecting_from(STRANGER, url) as stranger:
            stranger.get("/healthz", headers={"X-Forwarded-For": FORGED})
    assert challenge.status_code == 401
    assert (f'resource_metadata="{url}/.well-known/oauth-protected-resource/mcp"'
            in challenge.headers["www-authenticate"])
    messages = [json.loads(line)["message"] for line in log.read_text().splitlines()
                if line.startswith("{")]
    assert any(m.startswith(f'{BROWSER}:0 - "POST /mcp ') for m in messages), messages
    assert any(m.startswith(f'{STRANGER}:') and "GET /healthz" in m for m in messages), messages
    assert not any(FORGED in m for m in messages)


# Every kind of bad value is refused by each service's settings in
# tests/shared/test_settings.py; here, one per service shows the start stops on it.
@pytest.mark.parametrize(("command", "value"), [("authserver", "*"), ("mcpserver", "caddy")])
def test_a_bad_proxy_list_stops_the_start_naming_the_variable(
    tmp_path: Path, command: str, value: str
) -> None:
    env = {
        **os.environ,
        "HOSPIAI_ISSUER": "http://127.0.0.1:9000",
        "HOSPIAI_SECRET_KEY": "proxy-test-secret-key-long-enough!!!!",
        "HOSPIAI_MCP_URL": "http://127.0.0.1:8000/mcp",
        "HOSPIAI_MCP_CLIENT_ID": "rs_proxy",
        "HOSPIAI_MCP_CLIENT_SECRET": "hospiai_rs_proxy",
        "HOSPIAI_AUTH_DATABASE_URL": f"sqlite:///{tmp_path / 'auth.sqlite3'}",
        "HOSPIAI_MCP_DATABASE_URL": f"sqlite:///{tmp_path / 'mcp.sqlite3'}",
        "HOSPIAI_FORWARDED_ALLOW_IPS": f"127.0.0.2,{value}",
    }
    result = _hospiai(env, command)
    assert result.returncode == 2
    assert "configuration error: HOSPIAI_FORWARDED_ALLOW_IPS" in result.stderr

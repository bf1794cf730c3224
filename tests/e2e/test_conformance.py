"""The official MCP conformance suite (@modelcontextprotocol/conformance, on Node 22 through
npx): authorization mode against our authorization server, with its login and consent driven
like a browser, and server mode against our MCP server."""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mcpserver.app import create_app as create_mcp_app
from shared import scopes
from tests.flow import decide, login, tokens_for
from tests.harness import PASSWORD, AuthServer, Stack
from tests.servers import bind_loopback, serve

# It starts processes: handed out first, so that it never ends the run (tests/conftest.py).
pytestmark = pytest.mark.processes

# The pinned suite, in one place: .ci/run fetches the same one ahead of the tests.
SUITE = Path(__file__).with_name("conformance-suite.txt").read_text().strip()
# Scenarios of server mode that cannot apply to HospiAI, each with its reason.
EXPECTED_FAILURES = Path(__file__).with_name("conformance-expected-failures.yml")
# A cold npx downloads Node 22 and the suite first.
TIMEOUT = 300


def _conformance(*args: str) -> list[str]:
    npx = shutil.which("npx")
    if npx is None:
        if os.environ.get("CI"):
            pytest.fail("npx is missing: .ci/run installs Debian's npm for the conformance suite")
        pytest.skip("the conformance suite needs npx (apt-get install npm; .ci/run does)")
    return [npx, "-y", "-p", "node@22", "-p", SUITE, "--", "conformance", *args]


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "conformance"


class Run:
    """The suite as a subprocess (in its own process group: npx starts children), its output
    read line by line."""

    def __init__(self, command: list[str], cwd: Path) -> None:
        cwd.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            self.lines.put(line)

    def line_starting(self, prefix: str) -> str:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1).strip()
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            if line.startswith(prefix):
                return line
        raise AssertionError(f"no line starting with {prefix}:\n{''.join(self.output)}")

    def finish(self) -> int:
        try:
            return self.process.wait(timeout=TIMEOUT)
        finally:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
            self._reader.join(timeout=10)
            assert self.process.stdout is not None
            self.process.stdout.close()

    @property
    def text(self) -> str:
        return "".join(self.output)


def _checks(out: Path) -> dict[str, dict[str, str]]:
    """Every check of every scenario run: {scenario folder: {check id: status}}."""
    results: dict[str, dict[str, str]] = {}
    for path in sorted(out.glob("*/checks.json")):
        checks: list[dict[str, Any]] = json.loads(path.read_text())
        results[path.parent.name] = {check["id"]: check["status"] for check in checks}
    return results


def test_authorization_mode(auth_server: AuthServer, out: Path) -> None:
    command = _conformance()
    sock = bind_loopback()
    port = sock.getsockname()[1]
    sock.close()  # the harness listens on it for the callback
    client_id = auth_server.client(
        public=True, redirect_uris=[f"http://127.0.0.1:{port}/callback"]
    ).id
    run = Run([*command, "authorization", "--url", auth_server.url, "--client-id", client_id,
               "--port", str(port), "-o", str(out)], out)
    try:
        authorize_url = run.line_starting(f"{auth_server.url}/authorize?")
        with auth_server.http() as browser:
            first = browser.get(authorize_url)
            assert first.status_code == 303, first.text
            interaction = first.headers["location"]
            assert login(browser, interaction, auth_server.account().email, PASSWORD)
            back = decide(browser, interaction, "allow")
        assert back.status_code == 303, back.text
        assert httpx.get(back.headers["location"]).status_code == 200
    finally:
        code = run.finish()
    assert code == 0, run.text
    statuses = {
        check: status for checks in _checks(out).values() for check, status in checks.items()
    }
    assert statuses == {
        "authorization-server-metadata": "SUCCESS",
        "authorization-server-metadata-cimd": "SUCCESS",
        "authorization-code-grant": "SUCCESS",
    } | {check: status for check, status in statuses.items() if status == "INFO"}, run.text


@pytest.fixture
def mcp_with_token(stack: Stack) -> Iterator[str]:
    """The MCP server again, behind a layer that adds a real token: the suite's server mode
    cannot do OAuth, and our server refuses everything without one."""
    patient = stack.auth.account().email
    client_id = stack.auth.client(public=True).id
    token = tokens_for(
        stack.auth, client_id, patient, scope=" ".join(scopes.RESOURCE_NAMES),
        resource=stack.mcp_url,
    )["access_token"]
    authorization = (b"authorization", f"Bearer {token}".encode())
    app = create_mcp_app(stack.mcp_settings, clock=stack.auth.clock)

    async def with_token(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope = {**scope, "headers": [*scope["headers"], authorization]}
        await app(scope, receive, send)

    sock = bind_loopback()
    with serve(with_token, sock):
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"


# Generic protocol scenarios that must have run and passed, not merely been skipped.
GENERIC = {
    "2025-11-25": ["server-initialize", "ping", "logging-set-level", "tools-list",
                   "resources-list", "prompts-list", "dns-rebinding-protection"],
    "2026-07-28": ["tools-list", "resources-list", "prompts-list",
                   "dns-rebinding-protection", "http-header-validation", "caching",
                   "sep-2164-resource-not-found"],
}


@pytest.mark.parametrize("spec_version", sorted(GENERIC))
def test_server_mode(mcp_with_token: str, out: Path, spec_version: str) -> None:
    run = Run([*_conformance(), "server", "--url", mcp_with_token, "--suite", "all",
               "--spec-version", spec_version, "--expected-failures", str(EXPECTED_FAILURES),
               "-o", str(out)], out)
    code = run.finish()
    assert code == 0, run.text
    results = _checks(out)
    for scenario in GENERIC[spec_version]:
        ran = [checks for name, checks in results.items()
               if re.fullmatch(rf"server-{scenario}-\d{{4}}-.*", name)]
        assert len(ran) == 1, (scenario, sorted(results))
        statuses = set(ran[0].values())
        assert "SUCCESS" in statuses and "FAILURE" not in statuses, (scenario, ran[0])


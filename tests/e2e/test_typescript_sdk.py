"""End to end with the official MCP TypeScript SDK client (tests/e2e/ts-sdk/client.mjs, on
Node 22 through npx as the conformance suite): discovery, registration, login and consent,
tools, refresh without a new login, a step-up that keeps the earlier scopes, revocation. This
test is the person's browser and the servers' clock; the script says when it needs either."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest

from tests.databases import Databases
from tests.flow import decide, login, query_of
from tests.harness import PASSWORD, Stack, start_stack

# It starts processes: handed out first, so that it never ends the run (tests/conftest.py).
pytestmark = pytest.mark.processes

SCRIPT_DIR = Path(__file__).with_name("ts-sdk")
# A cold npx downloads Node 22 first, a cold npm ci the SDK.
TIMEOUT = 300
READ_ONLY = "read:data"


def _npx() -> str:
    npx = shutil.which("npx")
    if npx is None:
        if os.environ.get("CI"):
            pytest.fail("npx is missing: .ci/run installs Debian's npm for the TypeScript SDK")
        pytest.skip("the TypeScript SDK test needs npx (apt-get install npm; .ci/run does)")
    return npx


@pytest.fixture(scope="module")
def installed() -> str:
    """The SDK exactly as package-lock.json pins it, and npx to run it with."""
    npx = _npx()
    subprocess.run(
        [npx, "-y", "-p", "node@22", "--", "npm", "ci", "--no-audit", "--no-fund"],
        cwd=SCRIPT_DIR, check=True, capture_output=True, timeout=TIMEOUT,
    )
    return npx


@pytest.fixture
def world(databases: Databases) -> Iterator[Stack]:
    # No introspection cache, so that the revoked token is refused on its next call.
    with start_stack(databases, cache_ttl=0) as stack:
        yield stack


class Person:
    """The browser the SDK sends to /authorize, one cookie jar for the whole test (so the
    step-up finds the session); the first time it narrows the request to read:data, as an
    authorization server granting less than asked would, so that booking needs a step-up."""

    def __init__(self, browser: httpx.Client, email: str) -> None:
        self.browser = browser
        self.email = email
        self.logins = 0
        self.consent_pages: list[str] = []

    def authorize(self, step: str, url: str) -> str | None:
        if step == "revocation":
            return None  # the test stops here: the person does not come back
        if step == "connect":
            url = _with_scope(url, READ_ONLY)
        response = self.browser.get(url)
        assert response.status_code == 303, response.text
        location = response.headers["location"]
        if location.startswith("/interaction/"):
            response = self._interaction(location)
        else:
            response = self.browser.get(location)
        assert response.status_code == 303, response.text
        return str(response.headers["location"])

    def _interaction(self, interaction: str) -> httpx.Response:
        if 'name="password"' in self.browser.get(interaction).text:
            self.logins += 1
            logged_in = login(self.browser, interaction, self.email, PASSWORD)
            if logged_in.headers["location"] != interaction:
                return self.browser.get(logged_in.headers["location"])
        self.consent_pages.append(self.browser.get(interaction).text)
        return decide(self.browser, interaction, "allow")


def _with_scope(url: str, scope: str) -> str:
    parts = urlsplit(url)
    return parts._replace(query=urlencode({**query_of(url), "scope": scope})).geturl()


def _run(command: list[str], stack: Stack, person: Person) -> dict[str, Any]:
    """Run the script, answering what it asks, until its summary."""
    process = subprocess.Popen(
        command, cwd=SCRIPT_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    watchdog = threading.Timer(TIMEOUT, os.killpg, (process.pid, signal.SIGKILL))
    watchdog.start()
    assert process.stdin is not None and process.stdout is not None
    try:
        for line in process.stdout:
            message: dict[str, Any] = json.loads(line)
            if message["event"] == "summary":
                return message
            if message["event"] == "expire":
                stack.auth.clock.advance(stack.auth.settings.access_token_ttl + 1)
                answer: dict[str, Any] = {}
            else:
                answer = {"callback": person.authorize(message["step"], message["url"])}
            process.stdin.write(json.dumps(answer) + "\n")
            process.stdin.flush()
    finally:
        watchdog.cancel()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        stderr = process.communicate()[1]
    pytest.fail(f"the script ended without a summary:\n{stderr}")


def _grants(summary: dict[str, Any], step: str) -> list[tuple[str, int]]:
    """The token requests of a step: (grant_type, status)."""
    return [(entry["grant_type"], entry["status"]) for entry in summary["trace"]
            if entry["step"] == step and entry["url"].endswith("/token")]


def test_the_typescript_sdk_connects_refreshes_steps_up_and_is_revoked(
    installed: str, world: Stack
) -> None:
    patient = world.auth.account()
    command = [installed, "-y", "-p", "node@22", "--", "node", "client.mjs", world.mcp_url]
    with world.auth.http() as browser:
        person = Person(browser, patient.email)
        summary = _run(command, world, person)
    issuer = world.auth.settings.issuer

    # Discovery from the 401, then one registration with the SDK example's own metadata.
    connect = [entry for entry in summary["trace"] if entry["step"] == "connect"]
    assert connect[0]["status"] == 401 and "resource_metadata=" in connect[0]["challenge"]
    urls = [(entry["method"], entry["url"], entry["status"]) for entry in connect]
    assert ("GET", f"{issuer}/.well-known/oauth-authorization-server", 200) in urls
    [registered] = [entry for entry in connect if entry["url"] == f"{issuer}/register"]
    assert registered["status"] == 201
    assert registered["body"]["grant_types"] == ["authorization_code", "refresh_token"]
    assert _grants(summary, "connect") == [("authorization_code", 200)]
    assert summary["protocol_version"] == "2025-11-25"
    assert "logging" not in summary["capabilities"]
    assert len(summary["tools"]) == 20

    # Three trips to the browser: connecting, the step-up, and after the revocation. One login.
    steps = [authorization["step"] for authorization in summary["authorizations"]]
    assert steps == ["connect", "step-up", "revocation"], summary["authorizations"]
    first, step_up, revoked = summary["authorizations"]
    assert first["resource"] == world.mcp_url and first["iss"] == issuer
    assert "offline_access" not in first["scope"] and first["prompt"] is None
    assert person.logins == 1

    # A refresh token although the SDK never asked offline_access, and "Stay connected" said.
    assert summary["saved_tokens"][0] == {
        "step": "connect", "scope": "read:data offline_access", "refresh_token": True}
    assert "Stay connected" in person.consent_pages[0]
    # The clock moved past the access token's lifetime: refreshed, no browser.
    assert _grants(summary, "refresh") == [("refresh_token", 200)]

    # The step-up asks for what the token held and what booking needs; the reads after it
    # need no new authorization.
    assert step_up["scope"] == "read:data write:bookings"
    assert summary["booked"] == "booked"
    assert summary["saved_tokens"][-1]["scope"] == "read:data write:bookings offline_access"
    assert summary["saved_tokens"][-1]["refresh_token"] is True
    assert "New</span>" in person.consent_pages[1]
    assert [(call["name"], call["authorizations"]) for call in summary["calls"]] == [
        ("search_hospitals", 0), ("get_hospital", 0), ("find_available_slots", 0),
        ("book_appointment", 1), ("list_doctors", 0), ("get_hospital_status", 0),
    ]

    # Revoked: the refresh token is refused and the SDK sends the person back to log in.
    assert summary["revoked"] == 200
    assert _grants(summary, "revocation") == [("refresh_token", 400)]
    assert summary["after_revocation"] == "unauthorized" and not revoked["answered"]

"""Revocation reaches every MCP replica through the security event feed (RFC 8417 SETs polled
per RFC 8936), long before the introspection cache's TTL: two MCP replicas, each with a cached
answer for a token, both refuse its next tools/call once they processed the event. Each test
waits for the replicas' feed position to pass the event (their /metrics), never for a time."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace

import httpx
import pytest

from mcpserver.app import create_app as create_mcp_app
from tests.databases import Databases, both_backends
from tests.flow import logged_in, post_form, tokens_for
from tests.harness import AuthServer, mcp_settings, start_auth_server
from tests.mcpserver.helpers import MCP_HEADERS
from tests.servers import bind_loopback, free_port, serve

POLL_MS = 200
# How long a replica may take to reach an event before the test gives up: far beyond the poll
# period, so that only a replica that never gets there fails.
WAIT_SECONDS = 20
_POSITION = re.compile(r"^hospiai_security_events_position (\S+)$", re.MULTILINE)
_FAILED = re.compile(
    r'^hospiai_security_event_polls_total\{outcome="failed"\} (\S+)$', re.MULTILINE
)


@dataclass
class Replicated:
    auth: AuthServer
    mcp: tuple[str, ...]

    def token(self, role: str = "patient",
              scope: str = "read:data") -> tuple[str, str, str]:
        """(access token, account id, client id), for a new account and a new public client."""
        account = self.auth.account(role)
        client_id = self.auth.client(public=True).id
        tokens = tokens_for(self.auth, client_id, account.email, scope=scope,
                            resource=self.auth.resource)
        return tokens["access_token"], account.id, client_id

    def last_event(self) -> int:
        events = self.auth.store.security_events(self.auth.resource, 0, 1000)
        assert events, "the revocation wrote no security event"
        return max(event.id or 0 for event in events)


def tools_call(mcp_url: str, token: str, name: str = "search_hospitals",
               arguments: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(
        mcp_url, headers={**MCP_HEADERS, "Authorization": f"Bearer {token}"}, timeout=30,
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/call",
              "params": {"name": name, "arguments": {"city": "Lyon"} if arguments is None
                         else arguments}},
    )


def _metric(mcp_url: str, pattern: re.Pattern[str]) -> float:
    text = httpx.get(mcp_url.removesuffix("/mcp") + "/metrics", timeout=10).text
    found = pattern.search(text)
    return float(found.group(1)) if found else 0.0


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.02)


def wait_until_processed(replicated: Replicated, event_id: int) -> None:
    for mcp_url in replicated.mcp:
        wait_for(lambda url=mcp_url: _metric(url, _POSITION) >= event_id,  # type: ignore[misc]
                 f"{mcp_url} processed event {event_id}")


@contextmanager
def replicas(databases: Databases, *, events_url: str | None = None,
             count: int = 2) -> Iterator[Replicated]:
    """An authorization server and ``count`` MCP replicas of one resource on one database,
    each caching introspection for 30 s and polling the feed every POLL_MS."""
    socks = [bind_loopback() for _ in range(count)]
    urls = tuple(f"http://127.0.0.1:{sock.getsockname()[1]}/mcp" for sock in socks)
    with start_auth_server(databases, resource=urls[0]) as auth, ExitStack() as running:
        settings = replace(mcp_settings(auth, databases, demo=True),
                           security_events_poll_ms=POLL_MS,
                           security_events_url=events_url or f"{auth.url}/security-events")
        for sock in socks:
            running.enter_context(serve(create_mcp_app(settings, clock=auth.clock), sock))
        yield Replicated(auth, urls)


@pytest.fixture
def replicated(databases: Databases) -> Iterator[Replicated]:
    with replicas(databases) as running:
        yield running


def _cached_everywhere(replicated: Replicated, token: str) -> None:
    for mcp_url in replicated.mcp:
        answer = tools_call(mcp_url, token)
        assert answer.status_code == 200 and "result" in answer.json(), answer.text


def _refused_everywhere(replicated: Replicated, token: str) -> None:
    for mcp_url in replicated.mcp:
        assert tools_call(mcp_url, token).status_code == 401, mcp_url


@both_backends
def test_a_token_revoked_at_rfc_7009_is_refused_by_both_replicas(
    replicated: Replicated,
) -> None:
    token, _account, client_id = replicated.token()
    _cached_everywhere(replicated, token)
    with replicated.auth.http() as http:
        revoked = http.post("/revoke", data={"token": token, "client_id": client_id})
    assert revoked.status_code == 200
    wait_until_processed(replicated, replicated.last_event())
    _refused_everywhere(replicated, token)


@both_backends
def test_an_app_disconnected_on_the_account_page_is_refused_by_both_replicas(
    replicated: Replicated,
) -> None:
    token, account_id, _client = replicated.token()
    _cached_everywhere(replicated, token)
    email = replicated.auth.store.account(account_id).email  # type: ignore[union-attr]
    with logged_in(replicated.auth, email) as browser:
        grant_id = re.search(  # type: ignore[union-attr]
            r'action="/account/grants/([^/]+)/revoke"', browser.get("/account").text
        ).group(1)
        assert post_form(browser, "/account", f"/account/grants/{grant_id}/revoke").status_code \
            == 303
    wait_until_processed(replicated, replicated.last_event())
    _refused_everywhere(replicated, token)


@both_backends
def test_a_disabled_account_is_refused_by_both_replicas(replicated: Replicated) -> None:
    token, account_id, _client = replicated.token()
    other, _other_account, _other_client = replicated.token()
    _cached_everywhere(replicated, token)
    _cached_everywhere(replicated, other)
    auth = replicated.auth
    assert auth.store.set_account_disabled(account_id, True, auth.clock())
    wait_until_processed(replicated, replicated.last_event())
    _refused_everywhere(replicated, token)
    # Only that account's tokens: another user's cached answer still serves.
    _cached_everywhere(replicated, other)


@both_backends
def test_a_blocked_client_is_refused_by_both_replicas(replicated: Replicated) -> None:
    token, _account, client_id = replicated.token()
    _cached_everywhere(replicated, token)
    auth = replicated.auth
    assert auth.store.set_client_blocked(client_id, True, auth.clock())
    wait_until_processed(replicated, replicated.last_event())
    _refused_everywhere(replicated, token)


@both_backends
def test_a_demoted_account_has_its_new_role_on_both_replicas(replicated: Replicated) -> None:
    """Not a revocation, but the cached answers would claim the old role (its scopes)."""
    token, account_id, _client = replicated.token("staff", "read:profile")

    def roles() -> list[str]:
        answers = [tools_call(url, token, "get_my_profile", {}) for url in replicated.mcp]
        return [answer.json()["result"]["structuredContent"]["role"] for answer in answers]

    assert roles() == ["staff", "staff"]
    auth = replicated.auth
    assert auth.store.set_account_role(account_id, "patient", auth.clock())
    wait_until_processed(replicated, replicated.last_event())
    assert roles() == ["patient", "patient"]


@both_backends
def test_without_the_feed_the_cache_falls_back_to_its_ttl_never_longer(
    databases: Databases,
) -> None:
    # The feed's address answers nothing: every poll fails.
    with replicas(databases, events_url=f"http://127.0.0.1:{free_port()}/security-events",
                  count=1) as replicated:
        token, _account, client_id = replicated.token()
        _cached_everywhere(replicated, token)
        with replicated.auth.http() as http:
            http.post("/revoke", data={"token": token, "client_id": client_id})
        (mcp_url,) = replicated.mcp
        failed = _metric(mcp_url, _FAILED)
        wait_for(lambda: _metric(mcp_url, _FAILED) > failed, "a poll failed after the revocation")
        # As without a feed: the cached answer serves until its TTL...
        assert tools_call(mcp_url, token).status_code == 200
        replicated.auth.clock.advance(31)
        # ...and not a second longer.
        assert tools_call(mcp_url, token).status_code == 401

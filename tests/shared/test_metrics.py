"""Prometheus metrics: requests per route template, latencies, and token outcomes."""

from __future__ import annotations

import asyncio
import http.client
import re
import socket
import time
from urllib.parse import urlsplit

import httpx
from prometheus_client import generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.metrics import Metrics
from shared.observe import Observe
from tests.flow import introspect, refresh, tokens_for
from tests.harness import AuthServer, Stack


def _value(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match and ",".join(sorted(match.group(1).split(","))) == wanted:
            return float(match.group(2))
    return 0.0


def test_metrics_count_requests_and_token_outcomes(stack: Stack) -> None:
    auth = stack.auth
    client_id = auth.client(public=True).id
    tokens = tokens_for(auth, client_id, auth.account().email, resource=stack.mcp_url)
    introspect(auth, tokens["access_token"])  # active
    refresh(auth, client_id, tokens["refresh_token"])
    refresh(auth, client_id, tokens["refresh_token"])  # inside the grace window: same pair
    auth.clock.advance(60)
    refresh(auth, client_id, tokens["refresh_token"])  # reuse: the grant is revoked
    introspect(auth, tokens["access_token"])
    introspect(auth, "hospiai_at_unknown")
    httpx.get(f"{auth.url}/admin/clients/{client_id}")  # a route with an id in its path

    text = httpx.get(f"{auth.url}/metrics").text
    outcomes = {outcome: _value(text, "hospiai_token_outcomes_total", service="authserver",
                                outcome=outcome)
                for outcome in ("issued", "refreshed", "reuse_detected",
                                "introspection_active", "introspection_inactive")}
    assert outcomes == {"issued": 1, "refreshed": 1, "reuse_detected": 1,
                        "introspection_active": 1, "introspection_inactive": 2}, outcomes
    assert _value(text, "hospiai_http_requests_total", service="authserver", route="/token",
                  method="POST", status="200") == 3
    assert _value(text, "hospiai_http_requests_total", service="authserver",
                  route="/admin/clients/{client_id:path}", method="GET", status="303") == 1
    assert client_id not in text  # ids never become labels
    assert _value(text, "hospiai_http_request_duration_seconds_count", service="authserver",
                  route="/introspect") == 3

    mcp = stack.mcp_url.removesuffix("/mcp")
    httpx.post(stack.mcp_url, json={})  # no token: 401
    mcp_text = httpx.get(f"{mcp}/metrics").text
    assert _value(mcp_text, "hospiai_http_requests_total", service="mcpserver", route="/mcp",
                  method="POST", status="401") == 1


def _raw_get(base: str, path: str) -> tuple[int, bytes]:
    """GET ``path`` byte for byte (httpx would normalise the percent-encoding)."""
    address = urlsplit(base)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_metrics_are_served_at_one_spelling_only_on_both_services(stack: Stack) -> None:
    """A proxy keeps /metrics off the public side by its path; /%6detrics reaches the same
    route once decoded, and served the page on both services past a proxy matching raw paths."""
    for base in (stack.auth.url, stack.mcp_url.removesuffix("/mcp")):
        status, body = _raw_get(base, "/metrics")
        assert status == 200 and b"hospiai_http_requests_total" in body
        for spelling in ("/%6detrics", "/%6Detrics", "/%2fmetrics", "/metric%73",
                         "/%6d%65%74%72%69%63%73", "/%6detrics?x=1"):
            status, body = _raw_get(base, spelling)
            assert status == 404, (base, spelling, status)
            assert b"hospiai_" not in body


def test_a_request_whose_client_went_away_is_counted_499_not_500(auth_server: AuthServer) -> None:
    """Half a body, then the connection closed: nothing was answered, and nothing failed."""
    address = urlsplit(auth_server.url)
    with socket.create_connection((address.hostname or "", address.port or 80), 10) as raw:
        raw.sendall(b"POST /introspect HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                    b"Content-Type: application/x-www-form-urlencoded\r\n\r\ntoken=abc")
    counted = {}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        text = httpx.get(f"{auth_server.url}/metrics").text
        counted = {status: _value(text, "hospiai_http_requests_total", service="authserver",
                                  route="/introspect", method="POST", status=status)
                   for status in ("499", "500")}
        if counted["499"]:
            break
        time.sleep(0.05)
    assert counted == {"499": 1, "500": 0}


def test_an_app_that_never_answers_is_counted_500_not_499() -> None:
    """Only a client seen going away (its disconnect received) is a 499: an app that returns
    without answering is answered by the server with its own 500, and counted so."""
    metrics = Metrics("authserver")
    observe_silent = Observe(_silent(read_until_gone=False), metrics, fixed_paths={"/x"})
    observe_gone = Observe(_silent(read_until_gone=True), metrics, fixed_paths={"/y"})

    async def disconnected() -> Message:
        return {"type": "http.disconnect"}

    async def sent(_message: Message) -> None:
        raise AssertionError("nothing is sent")

    for app, path in ((observe_silent, "/x"), (observe_gone, "/y")):
        scope = {"type": "http", "method": "POST", "path": path, "headers": []}
        asyncio.run(app(scope, disconnected, sent))
    text = generate_latest(metrics.registry).decode()
    counted = {(route, status): _value(text, "hospiai_http_requests_total", service="authserver",
                                       route=route, method="POST", status=status)
               for route in ("/x", "/y") for status in ("499", "500")}
    assert counted == {("/x", "499"): 0, ("/x", "500"): 1, ("/y", "499"): 1, ("/y", "500"): 0}


def _silent(*, read_until_gone: bool) -> ASGIApp:
    async def app(_scope: Scope, receive: Receive, _send: Send) -> None:
        if read_until_gone:
            await receive()

    return app

"""The bearer guard and RFC 9728 metadata over real HTTP."""

from __future__ import annotations

import http.client
import json
import socket
import time
from dataclasses import replace
from urllib.parse import urlsplit

import httpx

from mcpserver.app import create_app as create_mcp_app
from mcpserver.domain.store import DomainStore
from shared.database import create_db_engine
from tests.databases import Databases
from tests.flow import tokens_for
from tests.harness import Stack, mcp_settings, start_auth_server
from tests.mcpserver.helpers import MCP_HEADERS, rpc, token_for
from tests.servers import bind_loopback, serve


def test_protected_resource_metadata_at_both_paths(stack: Stack) -> None:
    base = stack.mcp_url.removesuffix("/mcp")
    for path in (
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ):
        response = httpx.get(base + path)
        assert response.status_code == 200
        document = response.json()
        assert document["resource"] == stack.mcp_url
        assert document["authorization_servers"] == [stack.auth.settings.issuer]
        assert document["scopes_supported"] == [
            "read:data",
            "read:bookings",
            "write:bookings",
            "read:profile",
            "write:data",
            "read:records",
            "read:schedule",
            "write:schedule",
        ]


def test_missing_and_invalid_tokens_get_the_challenge(stack: Stack) -> None:
    metadata = stack.mcp_settings.resource_metadata_url
    for token in (None, "hospiai_at_forged"):
        response = rpc(stack, token, "tools/list", {})
        assert response.status_code == 401
        challenge = response.headers["www-authenticate"]
        assert challenge.startswith("Bearer ")
        assert f'resource_metadata="{metadata}"' in challenge
        assert 'scope="read:data read:bookings write:bookings read:profile"' in challenge
        assert ('error="invalid_token"' in challenge) == (token is not None)


def test_token_in_query_string_is_never_accepted(stack: Stack) -> None:
    token, _ = token_for(stack)
    response = httpx.post(
        f"{stack.mcp_url}?access_token={token}",
        headers=MCP_HEADERS,
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
    )
    assert response.status_code == 400
    assert "Authorization header" in response.json()["error_description"]
    with_header = httpx.post(
        f"{stack.mcp_url}?access_token=x",
        headers={**MCP_HEADERS, "Authorization": f"Bearer {token}"},
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
    )
    assert with_header.status_code == 400


def test_trailing_slash_is_served_not_redirected(stack: Stack) -> None:
    token, _ = token_for(stack)
    response = rpc(stack, token, "tools/list", {}, path="/mcp/")
    assert response.status_code == 200, response.text
    assert len(response.json()["result"]["tools"]) == 20
    assert rpc(stack, None, "tools/list", {}, path="/mcp/").status_code == 401


def test_missing_scope_is_a_403_step_up(stack: Stack) -> None:
    token, _ = token_for(stack, scope="read:data")
    allowed = rpc(
        stack, token, "tools/call", {"name": "get_hospital", "arguments": {"hospital_id": "lyon-1"}}
    )
    assert allowed.status_code == 200
    # The challenge names the token's scopes with the missing one, in catalogue order, so that
    # a client asking for exactly the challenge keeps read:data (and never offline_access,
    # which the token holds too: its client registered the refresh_token grant).
    for tool, scope in (
        ("book_appointment", "read:data write:bookings"),
        ("list_my_appointments", "read:data read:bookings"),
        ("get_my_profile", "read:data read:profile"),
    ):
        response = rpc(stack, token, "tools/call", {"name": tool, "arguments": {}})
        assert response.status_code == 403, tool
        challenge = response.headers["www-authenticate"]
        assert 'error="insufficient_scope"' in challenge
        assert f'scope="{scope}"' in challenge
        assert f'resource_metadata="{stack.mcp_settings.resource_metadata_url}"' in challenge
        missing = scope.split()[1]
        assert response.json()["error_description"] == f"This call needs the scope: {missing}."


def test_step_up_keeps_every_scope_the_token_holds(stack: Stack) -> None:
    """A token with two scopes, a batch needing two more: one challenge naming all four in
    catalogue order, whatever the order of the token's or the batch's scopes."""
    token, _ = token_for(stack, scope="read:profile read:data")
    body = [
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
         "params": {"name": "list_my_appointments", "arguments": {}}},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "book_appointment", "arguments": {}}},
    ]
    response = httpx.post(
        stack.mcp_url, json=body, headers={**MCP_HEADERS, "Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403
    assert (
        'scope="read:data read:bookings write:bookings read:profile"'
        in response.headers["www-authenticate"]
    )


def test_resource_read_needs_read_data(stack: Stack) -> None:
    token, _ = token_for(stack, scope="read:profile")
    response = rpc(stack, token, "resources/read", {"uri": "hospital://lyon-1"})
    assert response.status_code == 403
    assert 'scope="read:data read:profile"' in response.headers["www-authenticate"]


def test_token_for_another_audience_is_refused(stack: Stack) -> None:
    stack.auth.add_resource_server("https://records.hospiai.test/api")
    account = stack.auth.account()
    from tests.flow import tokens_for

    client_id = stack.auth.client(public=True).id
    tokens = tokens_for(
        stack.auth, client_id, account.email, resource="https://records.hospiai.test/api"
    )
    response = rpc(stack, tokens["access_token"], "tools/list", {})
    assert response.status_code == 401


def test_a_foreign_host_or_origin_is_refused(stack: Stack) -> None:
    """DNS rebinding: a page on another site must not reach the server through the browser."""
    token, _ = token_for(stack)
    own_origin = stack.mcp_url.removesuffix("/mcp")
    for extra, status in (
        ({"Host": "rebound.example"}, 421),
        ({"Origin": "https://rebound.example"}, 403),
        ({"Origin": own_origin}, 200),
    ):
        response = httpx.post(
            stack.mcp_url,
            headers={
                **MCP_HEADERS,
                "Authorization": f"Bearer {token}",
                **extra,
            },
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
        )
        assert response.status_code == status, (extra, response.text)


def test_behind_a_tls_proxy_only_the_public_https_origin_is_own(databases: Databases) -> None:
    """Behind a TLS proxy the request reaches the server as plain http, yet a browser on the
    public site sends its https Origin: that one is this server's own (the request alone would
    suggest http), and another site's still is not."""
    public = "https://mcp.hospital.example/mcp"
    sock = bind_loopback()
    with start_auth_server(databases, resource=public) as auth:
        settings = mcp_settings(auth, databases)
        domain = DomainStore(create_db_engine(settings.database_url))
        domain.upgrade_schema()
        domain.dispose()
        tokens = tokens_for(
            auth, auth.client(public=True).id, auth.account().email, resource=public
        )
        with serve(create_mcp_app(settings), sock):
            address = f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
            headers = {
                **MCP_HEADERS,
                "Authorization": f"Bearer {tokens['access_token']}",
                "Host": "mcp.hospital.example",
            }
            for origin, status in (
                ("https://mcp.hospital.example", 200),
                ("https://rebound.example", 403),
            ):
                response = httpx.post(
                    address,
                    headers={**headers, "Origin": origin},
                    json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
                )
                assert response.status_code == status, (origin, response.text)


def test_header_values_lose_the_whitespace_around_them(stack: Stack) -> None:
    """RFC 9110 section 5.5: Mcp-Name with spaces around it still names the tool called."""
    token, _ = token_for(stack)
    parts = urlsplit(stack.mcp_url)
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {
                "name": "get_my_profile",
                "arguments": {},
                "_meta": {
                    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                    "io.modelcontextprotocol/clientCapabilities": {},
                },
            },
        }
    )
    # http.client sends the value as given (httpx refuses the spaces).
    connection = http.client.HTTPConnection(parts.netloc, timeout=30)
    try:
        connection.request(
            "POST",
            parts.path,
            body=body,
            headers={
                **MCP_HEADERS,
                "Authorization": f"Bearer {token}",
                "MCP-Protocol-Version": "2026-07-28",
                "Mcp-Method": "tools/call",
                "Mcp-Name": "  get_my_profile  ",
            },
        )
        response = connection.getresponse()
        answer = json.loads(response.read())
    finally:
        connection.close()
    assert response.status == 200, answer
    assert "error" not in answer and not answer["result"].get("isError"), answer


def test_a_body_over_a_mebibyte_is_413_once_the_caller_is_known(stack: Stack) -> None:
    token, _ = token_for(stack)
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list",
                       "params": {"padding": "x" * (1024 * 1024)}})
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {token}"}
    response = httpx.post(stack.mcp_url, content=body, headers=headers, timeout=30)
    assert response.status_code == 413
    assert response.json() == {"error": "invalid_request",
                               "error_description": "The request body is too large."}
    anonymous = httpx.post(stack.mcp_url, content=body, headers=MCP_HEADERS, timeout=30)
    assert anonymous.status_code == 401


def test_a_body_cut_off_by_a_disconnect_is_never_run(stack: Stack) -> None:
    """A whole tools/call arrives but not the length the request declared: the client went
    away, so the call must not run (before, the partial body was replayed and it booked)."""
    token, account_id = token_for(stack)
    slot = stack.domain.free_slots(start=stack.auth.clock(), end=2**40, hospital_id="nice-1",
                                   doctor_id=None, specialty=None, limit=1)[0].slot.id
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "book_appointment",
        "arguments": {"slot_id": slot, "reason": "Annual check-up"},
    }}).encode()
    parts = urlsplit(stack.mcp_url)
    head = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json, text/event-stream\r\nContent-Length: {len(body) + 100}\r\n"
        "\r\n"
    )
    assert parts.hostname is not None and parts.port is not None
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(head.encode() + body)
        time.sleep(0.5)  # the server has read all of it and waits for the rest
    time.sleep(1)  # and then learns that the client is gone
    assert stack.domain.appointments(account_id, None) == []
    booked = rpc(stack, token, "tools/call", {
        "name": "book_appointment", "arguments": {"slot_id": slot, "reason": "Annual check-up"}})
    assert booked.status_code == 200 and "booked" in booked.text


def test_a_token_longer_than_any_issued_is_invalid_not_unavailable(stack: Stack) -> None:
    """Over ~64 KB the authorization server refuses the introspection body; the MCP server
    answered 503 "unavailable" to a caller holding no credential at all."""
    for token in ("hospiai_at_" + "x" * 70_000, "hospiai_at_" + "x" * 5_000):
        response = rpc(stack, token, "tools/list", {})
        assert response.status_code == 401, response.text
        assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_refused_credentials_are_a_500_never_a_retry(databases: Databases) -> None:
    sock = bind_loopback()
    with start_auth_server(databases) as auth:
        settings = replace(mcp_settings(auth, databases), client_secret="wrong")
        domain = DomainStore(create_db_engine(settings.database_url))
        domain.upgrade_schema()
        domain.dispose()
        tokens = tokens_for(auth, auth.client(public=True).id, auth.account().email,
                            resource=auth.resource)
        with serve(create_mcp_app(settings), sock):
            response = httpx.post(
                f"http://127.0.0.1:{sock.getsockname()[1]}/mcp",
                headers={**MCP_HEADERS, "Authorization": f"Bearer {tokens['access_token']}"},
                json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
            )
    assert response.status_code == 500, response.text
    assert response.json()["error"] == "server_error"
    assert "retry-after" not in response.headers


def test_every_answer_says_nosniff(stack: Stack) -> None:
    base = stack.mcp_url.removesuffix("/mcp")
    token, _ = token_for(stack)
    answers = [
        rpc(stack, None, "tools/list", {}),
        rpc(stack, token, "tools/list", {}),
        httpx.get(f"{base}/.well-known/oauth-protected-resource/mcp"),
        httpx.get(f"{base}/healthz"),
        httpx.get(f"{base}/metrics"),
        httpx.get(f"{base}/nowhere"),
    ]
    for response in answers:
        assert response.headers.get("x-content-type-options") == "nosniff", response.url

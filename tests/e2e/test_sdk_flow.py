"""End to end with the official MCP SDK client: discovery, registration, PKCE + resource,
tools, step-up, refresh, revocation and a stopped authorization server."""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

import httpx
from mcp.types import TextContent, TextResourceContents
from sqlmodel import Session, select

from authserver.models import Client
from tests.databases import Databases, both_backends
from tests.e2e.client import Browser, connect
from tests.flow import tokens_for
from tests.harness import PASSWORD, Stack, start_stack

LIST_TOOLS = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
CALL_PROFILE = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                "params": {"name": "get_my_profile", "arguments": {}}}


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream"}


def _text(block: object) -> str:
    assert isinstance(block, TextContent | TextResourceContents), block
    return block.text


def _json(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    data: dict[str, Any] = result.structured_content
    return data


@both_backends
def test_discovery_registration_and_every_tool(stack: Stack) -> None:
    patient = stack.auth.account()
    browser = Browser(patient.email, PASSWORD)

    async def scenario() -> None:
        async with connect(stack.mcp_url, browser) as connection:
            session = connection.session
            names = {tool.name for tool in (await session.list_tools()).tools}
            assert names == {
                "search_hospitals", "get_hospital", "get_hospital_status", "list_doctors",
                "find_available_slots", "book_appointment", "cancel_appointment",
                "list_my_appointments", "get_my_profile", "update_hospital_status",
                "get_my_medical_records", "get_my_medical_record", "mark_appointment",
                "add_consultation_note", "list_my_data_access", "list_data_access",
                "open_slots", "close_slot", "save_doctor", "list_hospital_appointments",
            }
            found = _json(await session.call_tool("search_hospitals", {"city": "Lyon", "limit": 3}))
            assert len(found["hospitals"]) == 3
            hospital = found["hospitals"][0]["id"]
            near = _json(await session.call_tool(
                "search_hospitals", {"latitude": 48.8566, "longitude": 2.3522, "radius_km": 15}))
            assert near["hospitals"] and all(h["distance_km"] <= 15 for h in near["hospitals"])
            assert (
                _json(await session.call_tool("get_hospital", {"hospital_id": hospital}))["city"]
                == "Lyon"
            )
            status = _json(
                await session.call_tool("get_hospital_status", {"hospital_id": hospital})
            )
            assert status["beds_available"] >= 0
            doctors = _json(await session.call_tool("list_doctors", {"hospital_id": hospital}))
            assert doctors["doctors"]
            today = datetime.date.today()
            slots = _json(
                await session.call_tool(
                    "find_available_slots",
                    {
                        "hospital_id": hospital,
                        "date_from": today.isoformat(),
                        "date_to": (today + datetime.timedelta(days=14)).isoformat(),
                        "limit": 2,
                    },
                )
            )
            assert len(slots["slots"]) == 2
            assert slots["slots"][0]["starts_at"].endswith(("+01:00", "+02:00"))
            booked = _json(
                await session.call_tool(
                    "book_appointment",
                    {"slot_id": slots["slots"][0]["slot_id"], "reason": "Annual check-up"},
                )
            )
            assert booked["status"] == "booked"
            mine = _json(await session.call_tool("list_my_appointments", {}))
            assert [a["appointment_id"] for a in mine["appointments"]] == [booked["appointment_id"]]
            again = await session.call_tool(
                "book_appointment",
                {"slot_id": slots["slots"][0]["slot_id"], "reason": "Second try"},
            )
            assert again.is_error and "no longer available" in _text(again.content[0])
            cancelled = _json(
                await session.call_tool(
                    "cancel_appointment", {"appointment_id": booked["appointment_id"]}
                )
            )
            assert cancelled["status"] == "cancelled"
            profile = _json(await session.call_tool("get_my_profile", {}))
            assert profile["sub"] == patient.id and profile["email"] == patient.email
            refused = await session.call_tool(
                "update_hospital_status", {"hospital_id": hospital, "beds_available": 3}
            )
            assert refused.is_error
            templates = await session.list_resource_templates()
            assert [t.uri_template for t in templates.resource_templates] == [
                "hospital://{hospital_id}"
            ]
            resource = await session.read_resource(f"hospital://{hospital}")
            assert hospital in _text(resource.contents[0])
            prompt = await session.get_prompt(
                "schedule_appointment", {"need": "a cardiology consultation", "city": "Lyon"}
            )
            assert "find_available_slots" in _text(prompt.messages[0].content)

    asyncio.run(scenario())
    authorize_url = browser.authorize_urls[0]
    assert "code_challenge_method=S256" in authorize_url
    assert "resource=" in authorize_url
    # The SDK registered dynamically: the stored client is a dynamic one.
    assert any(c.kind == "dynamic" for c in _clients(stack))


def _clients(stack: Stack) -> list[Client]:
    with Session(stack.auth.store._engine) as session:
        return list(session.exec(select(Client)).all())


def test_staff_updates_live_status(stack: Stack) -> None:
    staff = stack.auth.account("staff")
    stack.auth.join(staff, "paris-1")

    async def scenario() -> None:
        async with connect(stack.mcp_url, Browser(staff.email, PASSWORD)) as connection:
            # The first token has the default scopes; write:data comes by step-up.
            updated = _json(
                await connection.session.call_tool(
                    "update_hospital_status", {"hospital_id": "paris-1", "beds_available": 7}
                )
            )
            assert updated["beds_available"] == 7
            assert "write:data" in (connection.storage.tokens.scope or "")  # type: ignore[union-attr]

    asyncio.run(scenario())
    status = stack.domain.status("paris-1")
    assert status is not None and status.beds_available == 7 and status.updated_by


def test_step_up_when_the_token_lacks_write_bookings(stack: Stack) -> None:
    patient = stack.auth.account()
    narrowed = {"first": True}

    def only_read_at_first(scope: str) -> str:
        if narrowed["first"]:
            narrowed["first"] = False
            return "read:data offline_access"
        return scope

    browser = Browser(patient.email, PASSWORD, rewrite_scope=only_read_at_first)

    async def scenario() -> None:
        async with connect(stack.mcp_url, browser) as connection:
            session = connection.session
            assert connection.storage.tokens is not None
            assert "write:bookings" not in (connection.storage.tokens.scope or "")
            slot = stack.domain.free_slots(
                start=stack.auth.clock(),
                end=2**40,
                hospital_id="nice-1",
                doctor_id=None,
                specialty=None,
                limit=1,
            )[0].slot.id
            booked = _json(
                await session.call_tool(
                    "book_appointment", {"slot_id": slot, "reason": "Step-up booking"}
                )
            )
            assert booked["status"] == "booked"
            assert "write:bookings" in (connection.storage.tokens.scope or "")

    asyncio.run(scenario())
    assert len(browser.authorize_urls) == 2
    assert (
        "write%3Abookings" in browser.authorize_urls[1]
        or "write:bookings" in browser.authorize_urls[1]
    )


@both_backends
def test_refresh_after_access_token_expiry(databases: Databases) -> None:
    with start_stack(databases, access_token_ttl=2) as stack:
        patient = stack.auth.account()

        async def scenario() -> None:
            async with connect(stack.mcp_url, Browser(patient.email, PASSWORD)) as connection:
                first = connection.storage.tokens
                assert first is not None and first.refresh_token
                await asyncio.sleep(2.5)
                profile = _json(await connection.session.call_tool("get_my_profile", {}))
                assert profile["sub"] == patient.id
                second = connection.storage.tokens
                assert second is not None
                assert second.access_token != first.access_token
                assert second.refresh_token != first.refresh_token

        asyncio.run(scenario())


def test_revoked_token_is_refused_after_the_cache_ttl(databases: Databases) -> None:
    with start_stack(databases, cache_ttl=1) as stack:
        patient = stack.auth.account()

        async def scenario() -> tuple[str, str, str]:
            async with connect(stack.mcp_url, Browser(patient.email, PASSWORD)) as connection:
                await connection.session.call_tool("get_my_profile", {})
                tokens, client = connection.storage.tokens, connection.storage.client_info
                assert tokens is not None and client is not None and client.client_secret
                return tokens.access_token, client.client_id or "", client.client_secret

        token, client_id, client_secret = asyncio.run(scenario())
        assert (
            httpx.post(stack.mcp_url, json=LIST_TOOLS, headers=_headers(token)).status_code == 200
        )
        with stack.auth.http() as http:
            revoked = http.post("/revoke", data={"token": token}, auth=(client_id, client_secret))
            assert revoked.status_code == 200
        # Past the cache's second, on the clock both servers read.
        stack.auth.clock.advance(2)
        refused = httpx.post(stack.mcp_url, json=LIST_TOOLS, headers=_headers(token))
        assert refused.status_code == 401
        assert 'error="invalid_token"' in refused.headers["www-authenticate"]


def test_authorization_server_down_is_503_not_200(stack: Stack) -> None:
    client_id = stack.auth.client(public=True).id
    tokens = tokens_for(stack.auth, client_id, stack.auth.account().email, resource=stack.mcp_url)
    stack.auth.stop()
    response = httpx.post(
        stack.mcp_url, json=CALL_PROFILE, headers=_headers(tokens["access_token"])
    )
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["error"] == "temporarily_unavailable"

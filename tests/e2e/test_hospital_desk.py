"""The hospital side end to end with the official MCP SDK client (issue 16): staff of one
hospital mark an appointment and write its note, refused at another hospital; the patient
steps up to read:records (never a default), reads the record, and sees in the access log who
reached it."""

from __future__ import annotations

import asyncio
from typing import Any

from mcp.types import CallToolResult, TextContent

from tests.databases import both_backends
from tests.e2e.client import Browser, connect
from tests.harness import PASSWORD, Stack
from tests.mcpserver.desk import booked

pytestmark = both_backends


def _json(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    data: dict[str, Any] = result.structured_content or {}
    return data


def _text(result: CallToolResult) -> str:
    assert result.is_error, result
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


def test_staff_write_a_note_and_the_patient_reads_it(stack: Stack) -> None:
    staff, patient = stack.auth.account("staff"), stack.auth.account()
    stack.auth.join(staff, "lyon-1")
    appointment = booked(stack, patient.id, "lyon-1", starts_in=-3600)

    async def desk() -> None:
        async with connect(stack.mcp_url, Browser(staff.email, PASSWORD)) as connection:
            session = connection.session
            marked = _json(await session.call_tool(
                "mark_appointment", {"appointment_id": appointment, "outcome": "attended"}))
            assert marked["status"] == "attended"
            assert "write:schedule" in (connection.storage.tokens.scope or "")  # type: ignore[union-attr]
            note = _json(await session.call_tool("add_consultation_note", {
                "appointment_id": appointment, "note": "Tendinitis. Rest two weeks."}))
            assert note["appointment"]["appointment_id"] == appointment
            elsewhere = await session.call_tool(
                "update_hospital_status", {"hospital_id": "lyon-2", "beds_available": 1})
            assert "only the hospitals you belong to" in _text(elsewhere)

    async def reader() -> None:
        browser = Browser(patient.email, PASSWORD)
        async with connect(stack.mcp_url, browser) as connection:
            assert "read:records" not in (connection.storage.tokens.scope or "")  # type: ignore[union-attr]
            records = _json(await connection.session.call_tool("get_my_medical_records", {}))
            assert [r["note"] for r in records["records"]] == ["Tendinitis. Rest two weeks."]
            assert "read:records" in (connection.storage.tokens.scope or "")  # type: ignore[union-attr]
            guessed = await connection.session.call_tool(
                "get_my_medical_record", {"record_id": "rec_guess"})
            assert "no medical record" in _text(guessed)
            log = _json(await connection.session.call_tool("list_my_data_access", {}))
            assert [(e["tool"], e["who"]) for e in log["entries"]][-3:] == [
                ("get_my_medical_records", "you"),
                ("add_consultation_note", "Alice Martin (staff)"),
                ("mark_appointment", "Alice Martin (staff)"),
            ]
        # The second authorization (the step-up) asked for the sensitive scope by name.
        assert "read%3Arecords" in browser.authorize_urls[-1]

    asyncio.run(desk())
    asyncio.run(reader())
    stored = stack.domain.appointment_view(appointment)
    assert stored is not None and stored.appointment.status == "attended"
    status = stack.domain.status("lyon-2")
    assert status is not None and status.updated_by is None

"""The health-data access log (issue 16 item 4): each call that reaches a patient's or a
hospital's data is recorded (ids, never free text) before it answers; a record that cannot be
written fails the call; the patient sees who reached their data; admins filter it all; entries
past the retention are purged."""

from __future__ import annotations

from typing import Any

import anyio
import mcp_types as mt
import pytest
from fastmcp.server.middleware import MiddlewareContext
from fastmcp.tools.base import ToolResult
from sqlalchemy import text

from mcpserver.access_log import AccessLog, Whose
from mcpserver.auth import Identity
from mcpserver.context import Call, Services, enter, leave
from mcpserver.domain.access_log import GroupCommit
from mcpserver.domain.models import DataAccess
from tests.databases import both_backends
from tests.harness import Stack
from tests.mcpserver.desk import booked
from tests.mcpserver.helpers import call, error_text, token_for

pytestmark = both_backends

PATIENT = "read:data read:bookings write:bookings read:profile read:records"
DESK = "read:data write:data read:schedule write:schedule"


def _mine(stack: Stack, token: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = call(stack, token, "list_my_data_access", {})[
        "structuredContent"]["entries"]
    return entries


def test_the_patient_sees_who_reached_their_data_and_nobody_else_does(stack: Stack) -> None:
    alice, alice_sub = token_for(stack, scope=PATIENT)
    bob, bob_sub = token_for(stack, scope=PATIENT)
    desk, desk_sub = token_for(stack, "staff", DESK, hospitals=("lyon-1",))
    appointment = booked(stack, alice_sub, "lyon-1", starts_in=-3600)
    call(stack, alice, "list_my_appointments", {"which": "all"})
    call(stack, desk, "mark_appointment", {"appointment_id": appointment, "outcome": "attended"})
    call(stack, desk, "add_consultation_note",
         {"appointment_id": appointment, "note": "Secret clinical wording"})
    call(stack, desk, "update_hospital_status", {"hospital_id": "lyon-1", "beds_available": 4})
    error_text(call(stack, desk, "update_hospital_status",
                    {"hospital_id": "lyon-2", "beds_available": 4}))
    # Directory reads reach nobody's data: not logged.
    call(stack, alice, "search_hospitals", {"city": "Lyon"})

    entries = _mine(stack, alice)
    assert [(e["tool"], e["who"], e["outcome"]) for e in entries] == [
        ("add_consultation_note", "Alice Martin (staff)", "ok"),
        ("mark_appointment", "Alice Martin (staff)", "ok"),
        ("list_my_appointments", "you", "ok"),
    ]
    assert entries[0]["hospital_id"] == "lyon-1" and appointment in entries[0]["ids"]
    assert entries[0]["ids"][1].startswith("rec_")  # the record it wrote
    assert entries[2]["ids"] == [appointment]
    assert all(e["client_id"] for e in entries)
    assert _mine(stack, bob) == []

    rows = stack.domain.accesses(limit=100)
    assert {row.actor_sub for row in rows} == {alice_sub, desk_sub}
    assert bob_sub not in {row.subject_sub for row in rows}
    for row in rows:
        assert "Secret" not in str(row.model_dump()) and "Knee" not in str(row.model_dump())
    status_rows = [row for row in rows if row.tool == "update_hospital_status"]
    assert [(r.hospital_id, r.subject_sub, r.outcome) for r in status_rows] == [
        ("lyon-2", None, "refused"), ("lyon-1", None, "ok")]

    admin, _ = token_for(stack, "admin", DESK)
    filtered = call(stack, admin, "list_data_access", {"subject_sub": alice_sub, "limit": 2})[
        "structuredContent"]["entries"]
    assert [e["tool"] for e in filtered] == ["add_consultation_note", "mark_appointment"]
    older = call(stack, admin, "list_data_access", {
        "subject_sub": alice_sub, "before": filtered[-1]["entry_id"]})["structuredContent"]
    assert [e["tool"] for e in older["entries"]] == ["list_my_appointments"]
    by_hospital = call(stack, admin, "list_data_access", {"hospital_id": "lyon-2"})[
        "structuredContent"]["entries"]
    assert [(e["actor_sub"], e["outcome"]) for e in by_hospital] == [(desk_sub, "refused")]
    assert error_text(call(stack, desk, "list_data_access", {})) == (
        "Only HospiAI administrators can read the whole access log.")


def test_a_call_whose_record_cannot_be_written_fails(stack: Stack) -> None:
    alice, _ = token_for(stack, scope=PATIENT)
    assert not call(stack, alice, "get_my_profile", {}).get("isError")
    with stack.domain._engine.begin() as connection:
        connection.execute(text("DROP TABLE dataaccess"))
    for name in ("get_my_profile", "list_my_appointments", "get_my_medical_records"):
        refused = error_text(call(stack, alice, name, {}))
        assert refused.startswith("This call could not be recorded in the health-data access log")
        assert "Alice" not in refused
    # Reads that reach nobody's data still answer.
    assert not call(stack, alice, "get_hospital", {"hospital_id": "lyon-1"}).get("isError")


def test_entries_past_the_retention_are_purged_and_no_others(stack: Stack) -> None:
    now = stack.auth.clock()
    retention = stack.mcp_settings.access_log_retention
    assert retention == 365 * 86400

    def row(at: int) -> DataAccess:
        return DataAccess(at=at, actor_sub="acct_x", actor_name="X", actor_role="patient",
                          client_id="client_x", tool="get_my_profile", subject_sub="acct_x",
                          ids=[], outcome="ok")

    stack.domain.log_access([row(now - retention - 10), row(now - retention + 10), row(now)])
    assert stack.domain.purge_accesses(now - retention) == 1
    assert sorted(r.at for r in stack.domain.accesses(subject_sub="acct_x")) == [
        now - retention + 10, now]
    assert stack.domain.purge_accesses(now - retention) == 0


def test_a_desk_list_gives_each_patient_only_their_own_ids(stack: Stack) -> None:
    alice, alice_sub = token_for(stack, scope=PATIENT)
    bob, bob_sub = token_for(stack, scope=PATIENT)
    desk, _ = token_for(stack, "staff", DESK, hospitals=("lyon-1",))
    alices, bobs = (booked(stack, sub, "lyon-1", starts_in=3600) for sub in (alice_sub, bob_sub))
    today = call(stack, alice, "list_my_appointments", {"which": "all"})[
        "structuredContent"]["appointments"][0]["starts_at"][:10]
    listed = call(stack, desk, "list_hospital_appointments",
                  {"hospital_id": "lyon-1", "date_from": today, "date_to": today})
    assert not listed.get("isError")
    for token, own, other in ((alice, alices, bobs), (bob, bobs, alices)):
        (entry,) = [e for e in _mine(stack, token) if e["tool"] == "list_hospital_appointments"]
        assert own in entry["ids"] and other not in entry["ids"]


def test_a_fault_of_the_tool_is_recorded_as_failed_not_refused(stack: Stack) -> None:
    alice, alice_sub = token_for(stack, scope=PATIENT)
    with stack.domain._engine.begin() as connection:
        connection.execute(text("DROP TABLE consultation"))
    assert call(stack, alice, "get_my_medical_records", {}).get("isError")
    (row,) = [r for r in stack.domain.accesses(subject_sub=alice_sub, limit=10)
              if r.tool == "get_my_medical_records"]
    assert row.outcome == "failed"


def test_a_cancelled_call_is_recorded_all_the_same(stack: Stack) -> None:
    """A client that goes away cancels the call, which may have changed data already: its
    entry is written, shielded from the cancellation (outcome "cancelled")."""
    identity = Identity(sub="acct_cancelled", client_id="client_x", scopes=frozenset(),
                        email="a@hospiai.test", given_name="Alice", family_name="Martin",
                        role="patient", expires_at=2**40)
    middleware = AccessLog({"cancel_my_appointment": Whose.OWN})
    started = anyio.Event()

    async def tool_that_never_ends(
        context: MiddlewareContext[mt.CallToolRequestParams],
    ) -> ToolResult:
        started.set()
        await anyio.sleep_forever()
        raise AssertionError("never reached")

    async def cancel_mid_call() -> None:
        message = mt.CallToolRequestParams(name="cancel_my_appointment",
                                           arguments={"appointment_id": "apt_1"})
        entered = enter(Call(identity, Services(store=stack.domain, clock=stack.auth.clock)))
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(middleware.on_call_tool, MiddlewareContext(message=message),
                                 tool_that_never_ends)
                await started.wait()
                group.cancel_scope.cancel()
        finally:
            leave(entered)

    anyio.run(cancel_mid_call)
    (row,) = stack.domain.accesses(subject_sub="acct_cancelled")
    assert (row.tool, row.outcome, row.ids) == ("cancel_my_appointment", "cancelled", ["apt_1"])


def test_concurrent_calls_share_commits_and_every_row_lands(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Group commit: the rows of calls that arrive while a commit runs go in the next one
    together (one flush of the disk for many calls), and each call returns once its own
    rows are stored."""
    commits: list[int] = []
    log_access = stack.domain.log_access
    def counted(rows: list[DataAccess]) -> None:
        commits.append(len(rows))
        log_access(rows)

    monkeypatch.setattr(stack.domain, "log_access", counted)
    writer = GroupCommit(stack.domain)

    def row(number: int) -> DataAccess:
        return DataAccess(at=1, actor_sub=f"acct_group_{number}", actor_name="A",
                          actor_role="patient", client_id="c", tool="get_my_profile",
                          subject_sub="acct_group", hospital_id=None, outcome="ok", ids=[])

    async def forty_calls() -> None:
        async with anyio.create_task_group() as group:
            for number in range(40):
                group.start_soon(writer.write, [row(number)])

    anyio.run(forty_calls)
    assert sum(commits) == 40 and len(commits) < 40
    assert len(stack.domain.accesses(subject_sub="acct_group", limit=100)) == 40

"""Medical records (issue 16 item 3): staff mark their hospital's appointments and write the
consultation note; a patient reads only their own records, by id guessing too."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.databases import both_backends
from tests.harness import Stack
from tests.mcpserver.desk import booked
from tests.mcpserver.helpers import call, error_text, token_for

pytestmark = both_backends

PATIENT = "read:data read:bookings write:bookings read:records"
DESK = "read:data write:schedule"
HOUR = 3600


def _records(stack: Stack, token: str) -> list[dict[str, Any]]:
    result = call(stack, token, "get_my_medical_records", {})["structuredContent"]
    records: list[dict[str, Any]] = result["records"]
    return records


def test_a_note_becomes_the_patients_record_and_only_theirs(stack: Stack) -> None:
    alice, alice_sub = token_for(stack, scope=PATIENT)
    bob, _ = token_for(stack, scope=PATIENT)
    desk, desk_sub = token_for(stack, "staff", DESK, hospitals=("lyon-1",))
    appointment = booked(stack, alice_sub, "lyon-1", starts_in=-HOUR)

    marked = call(stack, desk, "mark_appointment",
                  {"appointment_id": appointment, "outcome": "attended"})["structuredContent"]
    assert marked["status"] == "attended"
    again = call(stack, desk, "mark_appointment",
                 {"appointment_id": appointment, "outcome": "attended"})["structuredContent"]
    assert again == marked
    first = call(stack, desk, "add_consultation_note",
                 {"appointment_id": appointment, "note": "Mild sprain. Ice, rest."})
    retried = call(stack, desk, "add_consultation_note",
                   {"appointment_id": appointment, "note": "Mild sprain. Ice, rest, a brace."})
    record_id = first["structuredContent"]["record_id"]
    assert retried["structuredContent"]["record_id"] == record_id

    mine = _records(stack, alice)
    assert [r["record_id"] for r in mine] == [record_id]
    assert mine[0]["note"] == "Mild sprain. Ice, rest, a brace."
    assert mine[0]["appointment"]["appointment_id"] == appointment
    assert mine[0]["appointment"]["hospital_id"] == "lyon-1"
    assert mine[0]["appointment"]["doctor_name"].startswith("Dr ")
    one = call(stack, alice, "get_my_medical_record", {"record_id": record_id})
    assert one["structuredContent"] == mine[0]
    stored = stack.domain.records(alice_sub)
    assert len(stored) == 1 and stored[0].consultation.written_by == desk_sub

    assert _records(stack, bob) == []
    for guess in (record_id, "rec_demo_1_1", "rec_guess", "%"):
        text = error_text(call(stack, bob, "get_my_medical_record", {"record_id": guess}))
        assert text == f"You have no medical record with the id {guess!r}."


def test_staff_reach_only_their_hospitals_appointments(stack: Stack) -> None:
    _, alice_sub = token_for(stack, scope=PATIENT)
    appointment = booked(stack, alice_sub, "lyon-1", starts_in=-HOUR)
    elsewhere, _ = token_for(stack, "staff", DESK, hospitals=("lyon-2",))
    patient, _ = token_for(stack, scope=f"{PATIENT} write:schedule")
    for token in (elsewhere, patient):
        for guess in (appointment, "apt_guess"):
            for name, arguments in (
                ("mark_appointment", {"appointment_id": guess, "outcome": "no_show"}),
                ("add_consultation_note", {"appointment_id": guess, "note": "Guessing"}),
            ):
                text = error_text(call(stack, token, name, arguments))
                assert text == (f"No appointment has the id {guess!r} at the hospitals you "
                                "belong to.")
    view = stack.domain.appointment_view(appointment)
    assert view is not None and view.appointment.status == "booked"
    assert stack.domain.records(alice_sub) == []
    admin, _ = token_for(stack, "admin", DESK)
    assert call(stack, admin, "mark_appointment", {
        "appointment_id": appointment, "outcome": "no_show"})["structuredContent"][
        "status"] == "no_show"


def test_marking_follows_the_clock_and_the_patient_sees_why(stack: Stack) -> None:
    alice, alice_sub = token_for(stack, scope=PATIENT)
    desk, _ = token_for(stack, "staff", DESK, hospitals=("lyon-1",))
    coming = booked(stack, alice_sub, "lyon-1", starts_in=2 * 86400)
    refused = error_text(call(stack, desk, "mark_appointment",
                              {"appointment_id": coming, "outcome": "attended"}))
    assert refused.startswith("This appointment has not started yet")
    assert error_text(call(stack, desk, "add_consultation_note", {
        "appointment_id": coming, "note": "Too early"})).startswith("Only an attended")
    call(stack, desk, "mark_appointment", {"appointment_id": coming,
                                           "outcome": "cancelled_by_hospital",
                                           "reason": "The doctor is ill."})
    upcoming = call(stack, alice, "list_my_appointments", {})["structuredContent"]
    assert [(a["appointment_id"], a["status"], a["status_reason"])
            for a in upcoming["appointments"]] == [
        (coming, "cancelled_by_hospital", "The doctor is ill.")]
    assert error_text(call(stack, desk, "mark_appointment", {
        "appointment_id": coming, "outcome": "no_show"})).startswith(
        "This appointment is cancelled by hospital")
    assert error_text(call(stack, alice, "cancel_appointment", {"appointment_id": coming}))
    started = booked(stack, alice_sub, "lyon-1", starts_in=-HOUR)
    assert error_text(call(stack, desk, "mark_appointment", {
        "appointment_id": started, "outcome": "cancelled_by_hospital"})).startswith(
        "This appointment has started")


def test_concurrent_marks_and_a_patient_cancel_leave_one_outcome(stack: Stack) -> None:
    alice, alice_sub = token_for(stack, scope="read:bookings write:bookings")
    desk, _ = token_for(stack, "staff", DESK, hospitals=("lyon-1",))
    appointment = booked(stack, alice_sub, "lyon-1", starts_in=-HOUR)
    calls: list[tuple[str, str, dict[str, Any]]] = [
        (desk, "mark_appointment", {"appointment_id": appointment, "outcome": outcome})
        for outcome in ("attended", "no_show") * 5
    ]

    def run(spec: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
        return call(stack, *spec)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        results = list(pool.map(run, calls))
    view = stack.domain.appointment_view(appointment)
    assert view is not None
    final = view.appointment.status
    assert final in ("attended", "no_show")
    for (_, _, arguments), result in zip(calls, results, strict=True):
        # The winner's outcome is what every call with it answers; the other is refused.
        assert bool(result.get("isError")) == (arguments["outcome"] != final), result
    # The slot stays held by the appointment, whatever the outcome.
    assert view.slot.appointment_id == appointment

    coming = booked(stack, alice_sub, "lyon-1", starts_in=86400)
    races: list[tuple[str, str, dict[str, Any]]] = [
        (alice, "cancel_appointment", {"appointment_id": coming}),
        (desk, "mark_appointment", {"appointment_id": coming,
                                    "outcome": "cancelled_by_hospital"}),
    ] * 4
    with ThreadPoolExecutor(max_workers=len(races)) as pool:
        outcomes = list(pool.map(run, races))
    settled = stack.domain.appointment_view(coming)
    assert settled is not None and settled.appointment.status in (
        "cancelled", "cancelled_by_hospital")
    winner = "cancel_appointment" if settled.appointment.status == "cancelled" else (
        "mark_appointment")
    succeeded = [name for (_, name, _), result in zip(races, outcomes, strict=True)
                 if not result.get("isError")]
    # A patient's cancel happens once; the hospital's mark answers every retry the same.
    assert succeeded == (["cancel_appointment"] if winner == "cancel_appointment"
                         else ["mark_appointment"] * 4)
    # A patient's cancel frees the slot; the hospital's keeps it out of booking.
    assert (settled.slot.appointment_id is None) == (winner == "cancel_appointment")

"""The hospital desk's schedule (issue 16 item 2): open slots inside working hours skipping
what is there, close free slots, list the hospital's appointments with patients' names, add
or update doctors; only at the staff member's hospitals; retries change nothing more, and a
slot is never both closed and booked under concurrent calls."""

from __future__ import annotations

import datetime
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.databases import both_backends
from tests.harness import Stack
from tests.mcpserver.helpers import call, error_text, token_for

pytestmark = both_backends

DESK = "read:data read:schedule write:schedule"
PATIENT = "read:data read:bookings write:bookings"


def _next_monday() -> datetime.date:
    today = datetime.date.today()
    return today + datetime.timedelta(days=7 - today.weekday())


def _open(stack: Stack, token: str, **arguments: Any) -> dict[str, Any]:
    result: dict[str, Any] = call(stack, token, "open_slots", arguments)
    return result


def test_open_slots_in_hours_skipping_existing_and_weekends_once(stack: Stack) -> None:
    desk, _ = token_for(stack, "staff", DESK, hospitals=("lyon-1",))
    monday = _next_monday()
    arguments = {"doctor_id": "lyon-1-dr1", "date_from": monday.isoformat(),
                 "date_to": (monday + datetime.timedelta(days=6)).isoformat(),
                 "duration_minutes": 60, "day_start": "08:00", "day_end": "12:00"}
    opened = _open(stack, desk, **arguments)["structuredContent"]
    times = [slot["starts_at"][11:16] for slot in opened["opened"]]
    days = {slot["starts_at"][:10] for slot in opened["opened"]}
    # The seed holds 09:00 and 11:00 on weekdays: 08:00 and 10:00 are left, Monday to Friday.
    assert sorted(set(times)) == ["08:00", "10:00"] and len(times) == 10
    assert len(days) == 5 and opened["skipped"] == 10
    assert all(slot["state"] == "free" for slot in opened["opened"])
    again = _open(stack, desk, **arguments)["structuredContent"]
    assert again == {"opened": [], "skipped": 20}
    found = call(stack, desk, "find_available_slots", {
        "doctor_id": "lyon-1-dr1", "date_from": monday.isoformat(),
        "date_to": monday.isoformat(), "limit": 100})["structuredContent"]["slots"]
    assert [s["starts_at"][11:16] for s in found] == ["08:00", "09:00", "10:00", "11:00",
                                                       "14:00", "16:00"]
    for bad, expected in (({"day_start": "17:00", "day_end": "09:00"}, "day_end must be after"),
                          ({"date_to": (monday + datetime.timedelta(days=40)).isoformat()},
                           "at most 31 days")):
        assert expected in error_text(_open(stack, desk, **{**arguments, **bad}))


def test_desk_tools_reach_only_their_hospitals(stack: Stack) -> None:
    elsewhere, _ = token_for(stack, "staff", DESK, hospitals=("lyon-2",))
    patient, _ = token_for(stack, scope=f"{DESK}")
    monday = _next_monday().isoformat()
    for token in (elsewhere, patient):
        for name, arguments in (
            ("open_slots", {"doctor_id": "lyon-1-dr1", "date_from": monday, "date_to": monday}),
            ("close_slot", {"slot_id": f"lyon-1-dr1-{monday.replace('-', '')}-09"}),
            ("list_hospital_appointments", {"hospital_id": "lyon-1", "date_from": monday,
                                            "date_to": monday}),
            ("save_doctor", {"hospital_id": "lyon-1", "name": "Dr Intruder",
                             "specialty": "cardiology"}),
            ("save_doctor", {"hospital_id": "lyon-2", "name": "Dr Moved",
                             "specialty": "cardiology", "doctor_id": "lyon-1-dr1"}),
        ):
            text = error_text(call(stack, token, name, arguments))
            assert ("you belong to" in text or "Only hospital staff" in text), (name, text)
    doctor = stack.domain.doctor("lyon-1-dr1")
    assert doctor is not None and doctor.hospital_id == "lyon-1"
    assert stack.domain.doctor("lyon-1-intruder") is None
    slot = stack.domain.slot(f"lyon-1-dr1-{monday.replace('-', '')}-09")
    assert slot is not None and slot.closed_at is None


def test_the_days_appointments_with_names_and_doctors_added_once(stack: Stack) -> None:
    desk, _ = token_for(stack, "staff", DESK, hospitals=("lyon-1",))
    alice, _ = token_for(stack, scope=PATIENT)
    monday = _next_monday()
    slot = f"lyon-1-dr2-{monday:%Y%m%d}-11"
    call(stack, alice, "book_appointment", {"slot_id": slot, "reason": "Back pain"})
    listed = call(stack, desk, "list_hospital_appointments", {
        "hospital_id": "lyon-1", "date_from": monday.isoformat(),
        "date_to": monday.isoformat()})["structuredContent"]["appointments"]
    assert [(a["doctor_id"], a["patient_name"], a["reason"], a["status"]) for a in listed] == [
        ("lyon-1-dr2", "Alice Martin", "Back pain", "booked")]
    assert call(stack, desk, "list_hospital_appointments", {
        "hospital_id": "lyon-1", "date_from": monday.isoformat(),
        "date_to": monday.isoformat(), "doctor_id": "lyon-1-dr1"})["structuredContent"] == {
        "appointments": []}

    added = call(stack, desk, "save_doctor", {"hospital_id": "lyon-1", "name": "Dr Léa Roux",
                                              "specialty": "Neurology"})["structuredContent"]
    again = call(stack, desk, "save_doctor", {"hospital_id": "lyon-1", "name": "Dr Léa Roux",
                                              "specialty": "neurology"})["structuredContent"]
    assert added == again and added["specialty"] == "neurology"
    renamed = call(stack, desk, "save_doctor", {
        "hospital_id": "lyon-1", "name": "Dr Léa Roux-Petit", "specialty": "neurology",
        "doctor_id": added["id"]})["structuredContent"]
    assert renamed["id"] == added["id"] and renamed["name"] == "Dr Léa Roux-Petit"
    doctors = call(stack, desk, "list_doctors", {"hospital_id": "lyon-1",
                                                 "specialty": "neurology"})
    assert [d["id"] for d in doctors["structuredContent"]["doctors"]].count(added["id"]) == 1


def test_closing_against_booking_never_leaves_a_slot_both(stack: Stack) -> None:
    desk, _ = token_for(stack, "staff", DESK, hospitals=("reims-1",))
    patients = [token_for(stack, scope=PATIENT) for _ in range(4)]
    monday = _next_monday()
    day = monday + datetime.timedelta(days=1)
    arguments = {"doctor_id": "reims-1-dr1", "date_from": day.isoformat(),
                 "date_to": day.isoformat(), "duration_minutes": 30, "day_start": "12:00",
                 "day_end": "14:00"}
    with ThreadPoolExecutor(max_workers=4) as pool:
        openings = list(pool.map(lambda _: _open(stack, desk, **arguments), range(4)))
    opened = [s["slot_id"] for o in openings for s in o["structuredContent"]["opened"]]
    assert len(opened) == len(set(opened)) == 4  # 12:00 to 13:30, each opened once

    def attempt(job: tuple[str, str]) -> dict[str, Any]:
        kind, slot_id = job
        if kind == "close":
            return call(stack, desk, "close_slot", {"slot_id": slot_id})
        token = patients[hash(job) % len(patients)][0]
        return call(stack, token, "book_appointment", {"slot_id": slot_id, "reason": "Race"})

    jobs = [(kind, slot_id) for slot_id in opened for kind in ("close", "book", "book")]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        results = list(pool.map(attempt, jobs))
    for slot_id in opened:
        slot = stack.domain.slot(slot_id)
        assert slot is not None
        assert (slot.closed_at is None) != (slot.appointment_id is None), slot
        booked = [r for (kind, s), r in zip(jobs, results, strict=True)
                  if s == slot_id and kind == "book" and not r.get("isError")]
        if slot.appointment_id is not None:
            # The booking that won is kept, and it is the one holding the slot.
            assert [r["structuredContent"]["appointment_id"] for r in booked] == [
                slot.appointment_id]
        else:
            assert booked == []
    # A closed slot is closed again without complaint; a booked one is refused.
    for slot_id in opened:
        slot = stack.domain.slot(slot_id)
        assert slot is not None
        result = call(stack, desk, "close_slot", {"slot_id": slot_id})
        assert bool(result.get("isError")) == (slot.appointment_id is not None)


def test_every_tool_takes_ranges_of_at_most_31_days_both_ends_counted(stack: Stack) -> None:
    """One rule for the desk's ranges and the patients' slot search (it was 31 days at the
    desk and 32 in find_available_slots, both saying 31)."""
    desk, _ = token_for(stack, "staff", DESK, hospitals=("lyon-1",))
    first = _next_monday()
    for days, refused in ((30, False), (31, True)):
        span = {"date_from": first.isoformat(),
                "date_to": (first + datetime.timedelta(days=days)).isoformat()}
        for tool, arguments in (("find_available_slots", {"hospital_id": "lyon-1"}),
                                ("list_hospital_appointments", {"hospital_id": "lyon-1"})):
            result = call(stack, desk, tool, {**arguments, **span})
            if refused:
                assert error_text(result) == "The date range may span at most 31 days.", tool
            else:
                assert result.get("isError") is not True, (tool, result)

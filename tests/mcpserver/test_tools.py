"""Tools over real HTTP: safe, specific errors for bad input; patients isolated from each other;
one slot booked once under concurrency."""

from __future__ import annotations

import datetime
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.databases import both_backends
from tests.harness import Stack
from tests.mcpserver.helpers import call, error_text, token_for

TODAY = datetime.date.today()


def _day(offset: int) -> str:
    return (TODAY + datetime.timedelta(days=offset)).isoformat()


def _free_slot(stack: Stack, hospital: str = "lyon-2") -> str:
    views = stack.domain.free_slots(start=stack.auth.clock(), end=2**40, hospital_id=hospital,
                                    doctor_id=None, specialty=None, limit=1)
    return views[0].slot.id


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("get_hospital", {"hospital_id": "atlantis-9"}, "No hospital has the id 'atlantis-9'"),
        ("get_hospital_status", {"hospital_id": "atlantis-9"}, "No hospital has the id"),
        ("list_doctors", {"hospital_id": "atlantis-9"}, "No hospital has the id"),
        ("find_available_slots", {"hospital_id": "lyon-1", "date_from": "2020-01-01",
                                  "date_to": "2020-01-02"}, "date_to is in the past"),
        ("find_available_slots", {"hospital_id": "lyon-1", "date_from": "next tuesday",
                                  "date_to": _day(3)}, "date_from must be a date like"),
        ("find_available_slots", {"hospital_id": "lyon-1", "date_from": _day(5),
                                  "date_to": _day(1)}, "must not be before"),
        ("find_available_slots", {"date_from": _day(1), "date_to": _day(2)},
         "Give a hospital_id, a doctor_id or a specialty"),
        ("search_hospitals", {"latitude": 91, "longitude": 2}, "90"),
        ("search_hospitals", {"latitude": 45, "longitude": -181}, "-180"),
        ("search_hospitals", {"city": "Lyon", "limit": 500}, "100"),
        ("search_hospitals", {}, "Give either a city"),
        ("book_appointment", {"slot_id": "no-such-slot", "reason": "Check-up"},
         "no longer available"),
        ("cancel_appointment", {"appointment_id": "apt_guess"}, "You have no booked appointment"),
    ],
)
def test_bad_input_gets_a_safe_specific_tool_error(
    stack: Stack, name: str, arguments: dict[str, Any], expected: str
) -> None:
    token, _ = token_for(stack)
    text = error_text(call(stack, token, name, arguments))
    assert expected in text
    for leak in ("Traceback", "Exception", "sqlalchemy", "File \"", "/work/"):
        assert leak not in text


@both_backends
def test_search_by_city_and_near_with_service(stack: Stack) -> None:
    token, _ = token_for(stack)
    lyon = call(stack, token, "search_hospitals", {"city": "lyon"})["structuredContent"]
    assert len(lyon["hospitals"]) == 5 and {h["city"] for h in lyon["hospitals"]} == {"Lyon"}
    near = call(stack, token, "search_hospitals",
                {"latitude": 43.2965, "longitude": 5.3698, "radius_km": 20,
                 "service": "emergency"})["structuredContent"]
    assert near["hospitals"]
    assert all("emergency" in h["services"] and h["distance_km"] <= 20 for h in near["hospitals"])
    distances = [h["distance_km"] for h in near["hospitals"]]
    assert distances == sorted(distances)


@both_backends
def test_patients_cannot_see_or_cancel_each_others_appointments(stack: Stack) -> None:
    alice, alice_id = token_for(stack)
    bob, _ = token_for(stack)
    booked = call(stack, alice, "book_appointment",
                  {"slot_id": _free_slot(stack), "reason": "Allergy consultation"})
    appointment = booked["structuredContent"]["appointment_id"]
    assert call(stack, bob, "list_my_appointments", {"which": "all"})[
        "structuredContent"]["appointments"] == []
    refused = error_text(call(stack, bob, "cancel_appointment", {"appointment_id": appointment}))
    assert refused == f"You have no booked appointment with the id {appointment!r}."
    mine = call(stack, alice, "list_my_appointments", {})["structuredContent"]["appointments"]
    assert [a["appointment_id"] for a in mine] == [appointment]
    assert mine[0]["status"] == "booked"
    stored = stack.domain.appointments(alice_id, None)
    assert [v.appointment.account_sub for v in stored] == [alice_id]


@both_backends
def test_cancel_frees_the_slot(stack: Stack) -> None:
    token, _ = token_for(stack)
    slot = _free_slot(stack, "nantes-1")
    booked = call(stack, token, "book_appointment", {"slot_id": slot, "reason": "Follow-up"})
    appointment = booked["structuredContent"]["appointment_id"]
    call(stack, token, "cancel_appointment", {"appointment_id": appointment})
    again = call(stack, token, "book_appointment", {"slot_id": slot, "reason": "Follow-up again"})
    assert again["structuredContent"]["status"] == "booked"
    history = call(stack, token, "list_my_appointments", {"which": "all"})["structuredContent"]
    assert sorted(a["status"] for a in history["appointments"]) == ["booked", "cancelled"]
    upcoming = call(stack, token, "list_my_appointments", {})["structuredContent"]
    assert [a["status"] for a in upcoming["appointments"]] == ["booked"]


@both_backends
def test_far_future_dates_find_no_slots(stack: Stack) -> None:
    token, _ = token_for(stack)
    found = call(stack, token, "find_available_slots", {
        "hospital_id": "lyon-1", "date_from": "2100-01-04", "date_to": "2100-01-08"})
    assert found["structuredContent"] == {"slots": []}


@both_backends
def test_concurrent_bookings_of_one_slot_give_exactly_one_success(stack: Stack) -> None:
    racers = [token_for(stack) for _ in range(10)]
    tokens = [token for token, _ in racers]
    slot = _free_slot(stack, "reims-3")

    def book(token: str) -> dict[str, Any]:
        return call(stack, token, "book_appointment", {"slot_id": slot, "reason": "Race"})

    with ThreadPoolExecutor(max_workers=len(tokens)) as pool:
        results = list(pool.map(book, tokens * 2))
    winners = [r for r in results if not r.get("isError")]
    assert len(winners) == 1
    assert all("no longer available" in error_text(r) for r in results if r.get("isError"))
    # Nothing lost, nothing doubled: one stored appointment in all, and it holds the slot.
    stored = [view for _, sub in racers for view in stack.domain.appointments(sub, None)]
    assert len(stored) == 1
    assert stored[0].appointment.id == winners[0]["structuredContent"]["appointment_id"]
    assert stored[0].slot.id == slot and stored[0].slot.appointment_id == stored[0].appointment.id


@both_backends
def test_staff_status_update_is_staff_only_and_recorded(stack: Stack) -> None:
    staff, staff_id = token_for(stack, "staff", "read:data write:data", hospitals=("lille-2",))
    updated = call(stack, staff, "update_hospital_status",
                   {"hospital_id": "lille-2", "icu_beds_available": 4,
                    "emergency_wait_minutes": 35})["structuredContent"]
    assert updated["icu_beds_available"] == 4 and updated["emergency_wait_minutes"] == 35
    status = stack.domain.status("lille-2")
    assert status is not None and status.updated_by == staff_id
    patient, _ = token_for(stack, "patient", "read:data write:data")
    text = error_text(call(stack, patient, "update_hospital_status",
                           {"hospital_id": "lille-2", "beds_available": 1}))
    assert text == "Only hospital staff can update the live status."
    assert error_text(call(stack, staff, "update_hospital_status", {"hospital_id": "lille-2"})
                      ) == "Give at least one figure to update."

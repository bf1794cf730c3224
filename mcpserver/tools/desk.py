"""The hospital desk's schedule (staff of that hospital, and admins): open slots for a doctor
over a date range inside working hours, skipping what is there; close a free slot; the
appointments at a hospital with the patient's name (read:schedule); add or update a doctor.
Every write is safe to retry: the same call again changes nothing more."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from typing import Annotated

from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field

from mcpserver.access_log import Whose, touched
from mcpserver.context import current
from mcpserver.domain.models import Doctor, Slot
from mcpserver.messages import _
from mcpserver.refusal import Refusal
from mcpserver.tools import (
    Tools,
    day_range,
    not_your_hospital,
    paris_time,
    run,
    start_of_day,
)
from mcpserver.tools.hospitals import DoctorInfo, HospitalId
from mcpserver.tools.schedule import STAFF_ROLES
from shared.clock import PARIS

Day = Annotated[str, Field(description="YYYY-MM-DD (Europe/Paris).")]
Clock = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
                             description="HH:MM, Europe/Paris.")]
DoctorId = Annotated[str, Field(min_length=1, max_length=80)]


class DeskSlot(BaseModel):
    slot_id: str
    doctor_id: str
    starts_at: str
    duration_minutes: int
    state: str  # free, booked or closed


class OpenedSlots(BaseModel):
    opened: list[DeskSlot]
    # Times left out because a slot of this doctor already covers them (or has that id).
    skipped: int


class DeskAppointment(BaseModel):
    appointment_id: str
    starts_at: str
    duration_minutes: int
    doctor_id: str
    doctor_name: str
    patient_name: str
    reason: str
    status: str
    status_reason: str | None


class DeskAppointmentList(BaseModel):
    appointments: list[DeskAppointment]


def _desk_slot(slot: Slot) -> DeskSlot:
    state = "closed" if slot.closed_at is not None else (
        "booked" if slot.appointment_id else "free")
    return DeskSlot(slot_id=slot.id, doctor_id=slot.doctor_id,
                    starts_at=paris_time(slot.starts_at),
                    duration_minutes=slot.duration_minutes, state=state)


def _staff() -> None:
    if current().identity.role not in STAFF_ROLES:
        raise Refusal(_("Only hospital staff can manage a hospital's schedule."))


async def _desk_doctor(doctor_id: str) -> Doctor:
    """A doctor of a hospital the user manages; one answer for every other id."""
    _staff()
    call = current()
    doctor = await run(call.services.store.doctor, doctor_id)
    if doctor is None or not call.identity.manages(doctor.hospital_id):
        raise Refusal(_("No doctor has the id %(id)s at the hospitals you belong to.",
                        id=repr(doctor_id[:80])))
    touched(doctor.id, hospital_id=doctor.hospital_id)
    return doctor


def _days(date_from: str, date_to: str) -> tuple[int, int]:
    first, last = day_range(date_from, date_to)
    end = start_of_day(last + timedelta(days=1))
    return start_of_day(first), end


async def open_slots(
    doctor_id: DoctorId,
    date_from: Day,
    date_to: Day,
    duration_minutes: Annotated[int, Field(ge=10, le=240)] = 30,
    day_start: Clock = "09:00",
    day_end: Clock = "17:00",
    weekends: Annotated[bool, Field(description="Also open Saturdays and Sundays.")] = False,
) -> OpenedSlots:
    """Staff: open bookable slots for a doctor of your hospital, every duration_minutes from
    day_start to day_end on each day of the range, skipping times a slot already covers and
    times past. Calling it again opens nothing twice."""
    doctor = await _desk_doctor(doctor_id)
    call = current()
    now = int(call.services.clock())
    start, end = _days(date_from, date_to)
    opens, closes = time.fromisoformat(day_start), time.fromisoformat(day_end)
    if closes <= opens:
        raise Refusal(_("day_end must be after day_start."))
    existing = await run(call.services.store.doctor_slots, doctor.id, start - 86400, end)
    moments = _moments(datetime.fromtimestamp(start, PARIS).date(), end, opens, closes,
                       duration_minutes, weekends)
    rows, skipped = _new_slots(doctor, moments, duration_minutes, now, existing)
    opened = set(await run(call.services.store.open_slots, rows))
    skipped += len(rows) - len(opened)
    slots = await run(call.services.store.doctor_slots, doctor.id, start, end)
    return OpenedSlots(opened=[_desk_slot(s) for s in slots if s.id in opened], skipped=skipped)


def _moments(
    first: date, end: int, opens: time, closes: time, minutes: int, weekends: bool
) -> Iterator[datetime]:
    """Every start the range offers, Paris time: from ``opens``, every ``minutes``, while the
    slot ends by ``closes`` the same day (a clock change moves no slot to another day);
    Saturdays and Sundays only with ``weekends``."""
    step = timedelta(minutes=minutes)
    day = first
    while start_of_day(day) < end:
        moment = datetime.combine(day, opens, tzinfo=PARIS)
        while (moment + step).time() <= closes and moment.date() == day:
            if weekends or day.weekday() < 5:
                yield moment
            moment += step
        day += timedelta(days=1)


def _new_slots(
    doctor: Doctor, moments: Iterable[datetime], minutes: int, now: int, existing: list[Slot]
) -> tuple[list[dict[str, object]], int]:
    """The rows of the slots to open, and how many starts were skipped: past ones are not
    counted; one a slot already has (its id), or that an open slot overlaps, is skipped."""
    taken = [(s.starts_at, s.starts_at + 60 * s.duration_minutes)
             for s in existing if s.closed_at is None]
    ids = {s.id for s in existing}
    rows: list[dict[str, object]] = []
    skipped = 0
    for moment in moments:
        begins = int(moment.timestamp())
        if begins <= now:
            continue
        slot_id = f"{doctor.id}-{moment:%Y%m%d}-{moment:%H%M}"
        finishes = begins + 60 * minutes
        if slot_id in ids or any(b < finishes and begins < e for b, e in taken):
            skipped += 1
        else:
            rows.append({"id": slot_id, "doctor_id": doctor.id,
                         "hospital_id": doctor.hospital_id, "starts_at": begins,
                         "duration_minutes": minutes, "appointment_id": None,
                         "closed_at": None})
    return rows, skipped


async def close_slot(
    slot_id: Annotated[str, Field(min_length=1, max_length=80)],
) -> DeskSlot:
    """Staff: close a free slot of your hospital so nobody can book it. A booked slot is not
    closed: mark its appointment cancelled_by_hospital instead."""
    _staff()
    call = current()
    slot = await run(call.services.store.slot, slot_id)
    if slot is None or not call.identity.manages(slot.hospital_id):
        raise Refusal(_("No slot has the id %(id)s at the hospitals you belong to.",
                        id=repr(slot_id[:80])))
    touched(hospital_id=slot.hospital_id)
    await run(call.services.store.close_slot, slot_id, int(call.services.clock()))
    after = await run(call.services.store.slot, slot_id)
    assert after is not None  # slots are never deleted
    if after.closed_at is None:
        raise Refusal(_("This slot is booked: mark its appointment cancelled_by_hospital "
                        "instead, and the patient is told."))
    return _desk_slot(after)


async def list_hospital_appointments(
    hospital_id: HospitalId,
    date_from: Day,
    date_to: Day,
    doctor_id: Annotated[str | None, Field(default=None, max_length=80)] = None,
) -> DeskAppointmentList:
    """Staff: the appointments at your hospital on a day or a range (at most 31 days), by
    time, optionally one doctor's, with the patient's name."""
    _staff()
    call = current()
    if not call.identity.manages(hospital_id):
        raise Refusal(not_your_hospital(hospital_id))
    start, end = _days(date_from, date_to)
    views = await run(call.services.store.hospital_appointments, hospital_id, start, end,
                      doctor_id)
    for view in views:
        touched(view.appointment.id, subject=view.appointment.account_sub)
    return DeskAppointmentList(appointments=[
        DeskAppointment(
            appointment_id=v.appointment.id, starts_at=paris_time(v.slot.starts_at),
            duration_minutes=v.slot.duration_minutes, doctor_id=v.doctor.id,
            doctor_name=v.doctor.name, patient_name=v.appointment.patient_name or "(unknown)",
            reason=v.appointment.reason, status=v.appointment.status,
            status_reason=v.appointment.status_reason,
        )
        for v in views
    ])


async def save_doctor(
    hospital_id: HospitalId,
    name: Annotated[str, Field(min_length=3, max_length=120, description="e.g. Dr Léa Martin")],
    specialty: Annotated[str, Field(min_length=3, max_length=64)],
    doctor_id: Annotated[
        str | None, Field(default=None, max_length=80,
                          description="To update a doctor; leave out to add one.")
    ] = None,
) -> DoctorInfo:
    """Staff: add a doctor to your hospital, or update one's name and specialty. Adding the
    same name twice updates the doctor added the first time."""
    _staff()
    call = current()
    if not call.identity.manages(hospital_id):
        raise Refusal(not_your_hospital(hospital_id))
    if doctor_id is not None:
        existing = await _desk_doctor(doctor_id)
        if existing.hospital_id != hospital_id:
            raise Refusal(_("Doctor %(id)s works at another hospital.", id=repr(doctor_id[:80])))
    else:
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower().removeprefix("dr ")).strip("-")
        doctor_id = f"{hospital_id}-{slug[:40] or 'doctor'}"
    hospital = await run(call.services.store.hospital, hospital_id)
    if hospital is None:
        raise Refusal(_("No hospital has the id %(id)s.", id=repr(hospital_id)))
    touched(doctor_id)
    saved = await run(call.services.store.save_doctor, Doctor(
        id=doctor_id, name=name.strip(), specialty=specialty.strip().lower(),
        hospital_id=hospital_id))
    return DoctorInfo(**saved.model_dump())


def register(tools: Tools) -> None:
    tools.add(open_slots, scope="write:schedule", logged=Whose.HOSPITAL,
              annotations=ToolAnnotations(read_only_hint=False, idempotent_hint=True))
    tools.add(close_slot, scope="write:schedule", logged=Whose.HOSPITAL,
              annotations=ToolAnnotations(read_only_hint=False, idempotent_hint=True,
                                          destructive_hint=True))
    tools.add(save_doctor, scope="write:schedule", logged=Whose.HOSPITAL,
              annotations=ToolAnnotations(read_only_hint=False, idempotent_hint=True))
    tools.add(list_hospital_appointments, scope="read:schedule", logged=Whose.PATIENTS,
              annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False))

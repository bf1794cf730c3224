"""The acting user's appointments: book and cancel (write:bookings), list (read:bookings).
The user is always the token's `sub`; no tool takes a user id."""

from __future__ import annotations

import secrets
from typing import Annotated, Literal

from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field

from mcpserver.access_log import Whose, touched
from mcpserver.context import current
from mcpserver.domain.models import Appointment
from mcpserver.domain.views import AppointmentView
from mcpserver.messages import _
from mcpserver.refusal import Refusal
from mcpserver.tools import Tools, paris_time, run


class AppointmentInfo(BaseModel):
    appointment_id: str
    # booked, cancelled (by you), attended, no_show or cancelled_by_hospital.
    status: str
    # What the hospital said when it marked the appointment.
    status_reason: str | None = None
    starts_at: str
    duration_minutes: int
    reason: str
    doctor_name: str
    specialty: str
    hospital_id: str
    hospital_name: str
    hospital_address: str


class AppointmentList(BaseModel):
    appointments: list[AppointmentInfo]


def info(view: AppointmentView) -> AppointmentInfo:
    return AppointmentInfo(
        appointment_id=view.appointment.id,
        status=view.appointment.status,
        status_reason=view.appointment.status_reason,
        starts_at=paris_time(view.slot.starts_at),
        duration_minutes=view.slot.duration_minutes,
        reason=view.appointment.reason,
        doctor_name=view.doctor.name,
        specialty=view.doctor.specialty,
        hospital_id=view.hospital.id,
        hospital_name=view.hospital.name,
        hospital_address=view.hospital.address,
    )


async def _mine(appointment_id: str) -> AppointmentInfo:
    call = current()
    views = await run(call.services.store.appointments, call.identity.sub, None)
    for view in views:
        if view.appointment.id == appointment_id:
            return info(view)
    # The same answer for someone else's appointment as for none: ids reveal nothing.
    raise Refusal(_("You have no appointment with the id %(id)s.", id=repr(appointment_id)))


async def book_appointment(
    slot_id: Annotated[
        str, Field(min_length=1, max_length=80, description="From find_available_slots.")
    ],
    reason: Annotated[
        str, Field(min_length=3, max_length=500, description="Why you need the visit.")
    ],
) -> AppointmentInfo:
    """Book a free slot for yourself, with the reason for the visit."""
    call = current()
    appointment = Appointment(
        id=f"apt_{secrets.token_urlsafe(12)}",
        account_sub=call.identity.sub,
        patient_name=f"{call.identity.given_name} {call.identity.family_name}".strip() or None,
        slot_id=slot_id,
        reason=reason.strip(),
        status="booked",
        created_at=int(call.services.clock()),
    )
    touched(appointment.id)
    await run(call.services.store.book, appointment, int(call.services.clock()))
    return await _mine(appointment.id)


async def cancel_appointment(
    appointment_id: Annotated[str, Field(min_length=1, max_length=80)],
) -> AppointmentInfo:
    """Cancel one of your booked appointments; the slot becomes free again."""
    call = current()
    cancelled = await run(
        call.services.store.cancel, appointment_id, call.identity.sub, int(call.services.clock())
    )
    if not cancelled:
        raise Refusal(_("You have no booked appointment with the id %(id)s.",
                        id=repr(appointment_id)))
    return await _mine(appointment_id)


async def list_my_appointments(
    which: Annotated[Literal["upcoming", "all"], Field(description="upcoming or all")] = "upcoming",
) -> AppointmentList:
    """Your appointments: the upcoming ones (booked, or cancelled by the hospital, with its
    reason), or all including past and cancelled."""
    call = current()
    since = int(call.services.clock()) if which == "upcoming" else None
    views = await run(call.services.store.appointments, call.identity.sub, since)
    touched(*(view.appointment.id for view in views))
    return AppointmentList(appointments=[info(view) for view in views])


def schedule_appointment(
    need: Annotated[str, Field(max_length=300, description="What the appointment is for.")],
    city: Annotated[str, Field(max_length=80, description="Where you want to be seen.")],
) -> str:
    """Step by step: find a hospital, a doctor and a free slot, then book it."""
    return (
        f"Help me book a medical appointment for: {need}, near {city}.\n"
        "1. Call search_hospitals with the city (and a service if it helps).\n"
        "2. Call list_doctors for a suitable hospital, filtering by specialty.\n"
        "3. Call find_available_slots for the next two weeks (dates as YYYY-MM-DD).\n"
        "4. Show me up to three options with date, time (Europe/Paris), doctor and hospital.\n"
        "5. Only after I choose one, call book_appointment with its slot_id and my reason.\n"
        "6. Confirm with list_my_appointments."
    )


def register(tools: Tools) -> None:
    tools.add(book_appointment, scope="write:bookings",
              annotations=ToolAnnotations(read_only_hint=False), logged=Whose.OWN)
    tools.add(
        cancel_appointment, scope="write:bookings",
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True),
        logged=Whose.OWN,
    )
    tools.add(list_my_appointments, scope="read:bookings",
              annotations=ToolAnnotations(read_only_hint=True), logged=Whose.OWN)
    tools.mcp.prompt(schedule_appointment)

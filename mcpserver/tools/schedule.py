"""The hospital desk's tools (write:schedule, staff of that hospital and admins): mark an
appointment attended, missed or cancelled by the hospital, and write its consultation note.
Staff reach only their hospitals' appointments; any other id gets the answer a made-up one
gets."""

from __future__ import annotations

import secrets
from typing import Annotated, Literal

from mcp_types import ToolAnnotations
from pydantic import Field

from mcpserver.access_log import Whose, touched
from mcpserver.context import current
from mcpserver.domain.models import Consultation
from mcpserver.domain.views import AppointmentView
from mcpserver.messages import _
from mcpserver.refusal import Refusal
from mcpserver.tools import Tools, run
from mcpserver.tools.bookings import AppointmentInfo, info
from mcpserver.tools.records import MedicalRecord, record

AppointmentId = Annotated[str, Field(min_length=1, max_length=80)]
STAFF_ROLES = ("staff", "admin")


async def desk_appointment(appointment_id: str) -> AppointmentView:
    """An appointment at a hospital the acting user manages, else a refusal that says the
    same whether the id exists, is at another hospital, or the user is no staff at all."""
    call = current()
    view = None
    if call.identity.role in STAFF_ROLES:
        view = await run(call.services.store.appointment_view, appointment_id)
    if view is not None and call.identity.manages(view.hospital.id):
        touched(subject=view.appointment.account_sub, hospital_id=view.hospital.id)
    else:
        raise Refusal(_("No appointment has the id %(id)s at the hospitals you belong to.",
                        id=repr(appointment_id[:80])))
    return view


async def mark_appointment(
    appointment_id: AppointmentId,
    outcome: Annotated[
        Literal["attended", "no_show", "cancelled_by_hospital"],
        Field(description="attended or no_show once it has started; cancelled_by_hospital "
                          "before it starts."),
    ],
    reason: Annotated[
        str | None,
        Field(default=None, max_length=300,
              description="What the patient is told, e.g. the doctor is ill."),
    ] = None,
) -> AppointmentInfo:
    """Staff: mark a booked appointment at your hospital attended, no-show or cancelled by the
    hospital; the patient sees the new status and the reason. Marking it again the same way
    changes nothing."""
    call = current()
    view = await desk_appointment(appointment_id)
    now = int(call.services.clock())
    if view.appointment.status == outcome:
        return info(view)  # a retry: already done
    _check_markable(view, outcome, now)
    text = reason.strip() if reason and reason.strip() else None
    marked = await run(call.services.store.mark, appointment_id, outcome, text,
                       call.identity.sub, now)
    after = await run(call.services.store.appointment_view, appointment_id)
    assert after is not None  # appointments are never deleted
    if not marked and after.appointment.status != outcome:
        raise Refusal(_("This appointment is now %(status)s; it was not changed.",
                        status=after.appointment.status.replace("_", " ")))
    return info(after)


def _check_markable(view: AppointmentView, outcome: str, now: int) -> None:
    """Only a booked appointment is marked: cancelled by the hospital before it starts,
    attended or missed once it has."""
    status = view.appointment.status
    if status != "booked":
        raise Refusal(_("This appointment is %(status)s; it cannot be marked %(outcome)s.",
                        status=status.replace("_", " "), outcome=outcome.replace("_", " ")))
    started = view.slot.starts_at <= now
    if outcome == "cancelled_by_hospital" and started:
        raise Refusal(_("This appointment has started: mark it attended or no_show instead."))
    if outcome != "cancelled_by_hospital" and not started:
        raise Refusal(_("This appointment has not started yet: only cancelled_by_hospital can "
                        "be marked now."))


async def add_consultation_note(
    appointment_id: AppointmentId,
    note: Annotated[
        str, Field(min_length=3, max_length=2000,
                   description="A short summary of the consultation, for the patient.")
    ],
) -> MedicalRecord:
    """Staff: write the consultation note of an attended appointment at your hospital (the
    patient's medical record). Writing again replaces the note."""
    call = current()
    view = await desk_appointment(appointment_id)
    if view.appointment.status != "attended":
        raise Refusal(_("Only an attended appointment gets a consultation note: mark it "
                        "attended first."))
    now = int(call.services.clock())
    stored = await run(call.services.store.write_note, Consultation(
        id=f"rec_{secrets.token_urlsafe(12)}",
        appointment_id=view.appointment.id,
        account_sub=view.appointment.account_sub,
        hospital_id=view.hospital.id,
        note=note.strip(),
        created_at=now,
        updated_at=now,
        written_by=call.identity.sub,
    ))
    touched(stored.id)
    views = await run(call.services.store.records, stored.account_sub, stored.id)
    return record(views[0])


def register(tools: Tools) -> None:
    for tool in (mark_appointment, add_consultation_note):
        tools.add(tool, scope="write:schedule",
                  annotations=ToolAnnotations(read_only_hint=False, idempotent_hint=True),
                  logged=Whose.PATIENTS)

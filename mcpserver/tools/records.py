"""The patient's own medical records (read:records, sensitive): consultations with their
appointment, doctor, hospital and summary note. The patient is always the token's `sub`."""

from __future__ import annotations

from typing import Annotated

from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field

from mcpserver.access_log import Whose, touched
from mcpserver.context import current
from mcpserver.domain.records import RecordView
from mcpserver.messages import _
from mcpserver.refusal import Refusal
from mcpserver.tools import Tools, paris_time, run
from mcpserver.tools.bookings import AppointmentInfo, info


class MedicalRecord(BaseModel):
    record_id: str
    consultation_at: str
    note: str
    written_at: str
    appointment: AppointmentInfo


class MedicalRecordList(BaseModel):
    records: list[MedicalRecord]


def record(view: RecordView) -> MedicalRecord:
    return MedicalRecord(
        record_id=view.consultation.id,
        consultation_at=paris_time(view.appointment.slot.starts_at),
        note=view.consultation.note,
        written_at=paris_time(view.consultation.updated_at),
        appointment=info(view.appointment),
    )


async def get_my_medical_records() -> MedicalRecordList:
    """Your medical records: each consultation with its appointment, doctor, hospital and the
    summary note, newest first."""
    call = current()
    views = await run(call.services.store.records, call.identity.sub)
    touched(*(view.consultation.id for view in views))
    return MedicalRecordList(records=[record(view) for view in views])


async def get_my_medical_record(
    record_id: Annotated[
        str, Field(min_length=1, max_length=80, description="From get_my_medical_records.")
    ],
) -> MedicalRecord:
    """One of your medical records, by its id."""
    call = current()
    views = await run(call.services.store.records, call.identity.sub, record_id)
    if not views:
        # The same answer for another patient's record as for none: ids reveal nothing.
        raise Refusal(_("You have no medical record with the id %(id)s.", id=repr(record_id[:80])))
    return record(views[0])


def register(tools: Tools) -> None:
    for tool in (get_my_medical_records, get_my_medical_record):
        tools.add(tool, scope="read:records",
                  annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False),
                  logged=Whose.OWN)

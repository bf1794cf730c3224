"""What the store's joined reads return: a row with the rows it refers to."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.sql.expression import Select

from mcpserver.domain.models import Appointment, Doctor, Hospital, Slot


@dataclass(frozen=True)
class SlotView:
    slot: Slot
    doctor: Doctor
    hospital: Hospital


@dataclass(frozen=True)
class AppointmentView:
    appointment: Appointment
    slot: Slot
    doctor: Doctor
    hospital: Hospital


def appointments_with_places() -> Select[Appointment, Slot, Doctor, Hospital]:
    """Appointments joined to their slot, doctor and hospital: the rows of AppointmentView,
    for the caller to filter and order."""
    return (
        select(Appointment, Slot, Doctor, Hospital)
        .join(Slot, col(Slot.id) == col(Appointment.slot_id))
        .join(Doctor, col(Doctor.id) == col(Slot.doctor_id))
        .join(Hospital, col(Hospital.id) == col(Slot.hospital_id))
    )

"""What the store's joined reads return: a row with the rows it refers to."""

from __future__ import annotations

from dataclasses import dataclass

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

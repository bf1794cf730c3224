"""SQLModel tables of the MCP server. Times are integer Unix seconds (UTC, UNIX_TIME: 64 bits)."""

from __future__ import annotations

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from shared.database import UNIX_TIME


class Hospital(SQLModel, table=True):
    id: str = Field(primary_key=True)
    name: str
    city: str = Field(index=True)
    address: str
    latitude: float = Field(index=True)
    longitude: float
    services: list[str] = Field(sa_column=Column(JSON, nullable=False))
    phone: str


class HospitalStatus(SQLModel, table=True):
    hospital_id: str = Field(primary_key=True, foreign_key="hospital.id")
    beds_available: int
    icu_beds_available: int
    ventilators_available: int
    emergency_wait_minutes: int
    updated_at: int = Field(sa_type=UNIX_TIME)
    updated_by: str | None = None


class Doctor(SQLModel, table=True):
    id: str = Field(primary_key=True)
    name: str
    specialty: str = Field(index=True)
    hospital_id: str = Field(index=True, foreign_key="hospital.id")


class Slot(SQLModel, table=True):
    id: str = Field(primary_key=True)
    doctor_id: str = Field(index=True, foreign_key="doctor.id")
    hospital_id: str = Field(index=True, foreign_key="hospital.id")
    starts_at: int = Field(index=True, sa_type=UNIX_TIME)
    duration_minutes: int
    # The appointment holding the slot; NULL while it is free. Booking is a conditional UPDATE.
    appointment_id: str | None = Field(default=None, index=True)


class Appointment(SQLModel, table=True):
    id: str = Field(primary_key=True)
    # The acting user's `sub` from introspection, never an argument.
    account_sub: str = Field(index=True)
    slot_id: str = Field(index=True, foreign_key="slot.id")
    reason: str
    # "booked" or "cancelled".
    status: str
    created_at: int = Field(sa_type=UNIX_TIME)
    cancelled_at: int | None = Field(default=None, sa_type=UNIX_TIME)

"""SQLModel tables of the MCP server. Times are integer Unix seconds (UTC, UNIX_TIME: 64 bits)."""

from __future__ import annotations

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from shared.database import ROW_ID, UNIX_TIME


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
    # When the hospital closed the free slot: nobody can book it any more.
    closed_at: int | None = Field(default=None, sa_type=UNIX_TIME)


class Appointment(SQLModel, table=True):
    id: str = Field(primary_key=True)
    # The acting user's `sub` from introspection, never an argument.
    account_sub: str = Field(index=True)
    # The patient's name when they booked (from introspection), for the hospital desk.
    patient_name: str | None = None
    slot_id: str = Field(index=True, foreign_key="slot.id")
    reason: str
    # "booked", "cancelled" (by the patient), or as the hospital marked it: "attended",
    # "no_show", "cancelled_by_hospital".
    status: str
    created_at: int = Field(sa_type=UNIX_TIME)
    cancelled_at: int | None = Field(default=None, sa_type=UNIX_TIME)
    # What the hospital said when it marked the appointment, shown to the patient.
    status_reason: str | None = None
    status_changed_at: int | None = Field(default=None, sa_type=UNIX_TIME)
    status_changed_by: str | None = None


class Consultation(SQLModel, table=True):
    """The medical record of one attended appointment: the summary note staff wrote."""

    id: str = Field(primary_key=True)
    # One record per appointment: the unique key makes a retried or concurrent add one row.
    appointment_id: str = Field(unique=True, foreign_key="appointment.id")
    # The patient, copied from the appointment: the one whose records these are.
    account_sub: str = Field(index=True)
    hospital_id: str = Field(index=True, foreign_key="hospital.id")
    note: str
    created_at: int = Field(sa_type=UNIX_TIME)
    updated_at: int = Field(sa_type=UNIX_TIME)
    # The staff member's `sub` who wrote (or last changed) the note.
    written_by: str


class DataAccess(SQLModel, table=True):
    """One tool call that read or changed a patient's data or a hospital's (the health-data
    access log): appended, never changed, deleted only past its retention. Ids only, never
    free text (a reason, a note)."""

    id: int | None = Field(default=None, primary_key=True, sa_type=ROW_ID)
    at: int = Field(index=True, sa_type=UNIX_TIME)
    # Who acted, as introspection named them, and with which application.
    actor_sub: str = Field(index=True)
    actor_name: str
    actor_role: str
    client_id: str
    tool: str
    # Whose data it was (one row per patient touched); None for a hospital's own data.
    subject_sub: str | None = Field(default=None, index=True)
    hospital_id: str | None = Field(default=None, index=True)
    # The ids the call named or reached: appointments, slots, records, doctors.
    ids: list[str] = Field(sa_column=Column(JSON, nullable=False))
    # "ok", "refused" (a tool error the caller can act on) or "failed".
    outcome: str

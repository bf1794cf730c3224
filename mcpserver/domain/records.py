"""Medical records and the hospital's side of appointments: marking them, consultation notes.
Each change is a conditional UPDATE or an insert a unique key decides, so retries and
concurrent calls leave one consistent row."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select as select_rows
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select, update

from mcpserver.domain.models import Appointment, Consultation, Doctor, Hospital, Slot
from mcpserver.domain.views import AppointmentView, appointments_with_places
from shared.database import SQLStore

# What the hospital may mark a booked appointment as.
OUTCOMES = ("attended", "no_show", "cancelled_by_hospital")


@dataclass(frozen=True)
class RecordView:
    consultation: Consultation
    appointment: AppointmentView


class RecordStore(SQLStore):
    def appointment_view(self, appointment_id: str) -> AppointmentView | None:
        with self._session() as session:
            row = session.exec(
                appointments_with_places()
                .where(Appointment.id == appointment_id)
            ).first()
        return None if row is None else AppointmentView(*row)

    def mark(
        self, appointment_id: str, status: str, reason: str | None, by: str, now: int
    ) -> bool:
        """Mark a booked appointment; False if it is no longer booked (the patient cancelled
        it, or another call marked it first): of concurrent markers, exactly one wins."""
        return self._update_one(
            update(Appointment)
            .where(col(Appointment.id) == appointment_id, col(Appointment.status) == "booked")
            .values(status=status, status_reason=reason, status_changed_at=now,
                    status_changed_by=by)
        )

    def write_note(self, consultation: Consultation) -> Consultation:
        """Store the note of an attended appointment, or replace the note it has: a retried
        call, or two at once, leave one record holding the last note written."""
        with self._session() as session:
            session.add(consultation)
            try:
                session.commit()
                return consultation
            except IntegrityError:
                session.rollback()
            session.exec(
                update(Consultation)
                .where(col(Consultation.appointment_id) == consultation.appointment_id)
                .values(note=consultation.note, updated_at=consultation.updated_at,
                        written_by=consultation.written_by)
            )
            session.commit()
            stored = session.exec(
                select(Consultation)
                .where(Consultation.appointment_id == consultation.appointment_id)
            ).one()
        return stored

    def records(self, account_sub: str, record_id: str | None = None) -> list[RecordView]:
        """``account_sub``'s own records, newest first (one, by id, if ``record_id``)."""
        with self._session() as session:
            # Five entities: past the overloads of sqlmodel's select, so SQLAlchemy's own.
            query = (
                select_rows(Consultation, Appointment, Slot, Doctor, Hospital)
                .join(Appointment, col(Appointment.id) == col(Consultation.appointment_id))
                .join(Slot, col(Slot.id) == col(Appointment.slot_id))
                .join(Doctor, col(Doctor.id) == col(Slot.doctor_id))
                .join(Hospital, col(Hospital.id) == col(Slot.hospital_id))
                .where(col(Consultation.account_sub) == account_sub)
            )
            if record_id is not None:
                query = query.where(col(Consultation.id) == record_id)
            rows = session.execute(query.order_by(col(Slot.starts_at).desc())).all()
            return [
                RecordView(consultation, AppointmentView(appointment, slot, doctor, hospital))
                for consultation, appointment, slot, doctor, hospital in rows
            ]

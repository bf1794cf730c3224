"""The hospital desk's side of the schedule: doctors, opening and closing slots, a hospital's
appointments. Opening is an insert that skips ids already there, closing a conditional UPDATE
on a free slot, so neither races a booking: a slot is never both closed and booked."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select, update

from mcpserver.domain.models import Doctor, Slot
from mcpserver.domain.views import AppointmentView, appointments_with_places
from shared.database import SQLStore


class DeskStore(SQLStore):
    def doctor(self, doctor_id: str) -> Doctor | None:
        with self._session() as session:
            return session.get(Doctor, doctor_id)

    def slot(self, slot_id: str) -> Slot | None:
        with self._session() as session:
            return session.get(Slot, slot_id)

    def save_doctor(self, doctor: Doctor) -> Doctor:
        """Add the doctor, or change the name and specialty of the one with its id."""
        with self._session() as session:
            saved = session.merge(doctor)
            session.commit()
            return saved

    def doctor_slots(self, doctor_id: str, start: int, end: int) -> list[Slot]:
        """The doctor's slots (free, booked or closed) starting in [start, end)."""
        with self._session() as session:
            return list(session.exec(
                select(Slot).where(
                    col(Slot.doctor_id) == doctor_id,
                    col(Slot.starts_at) >= start,
                    col(Slot.starts_at) < end,
                ).order_by(col(Slot.starts_at))
            ))

    def open_slots(self, rows: Sequence[dict[str, object]]) -> list[str]:
        """Insert the slots whose id is not taken (a retry, or the same call twice at once,
        opens each slot once); the ids inserted."""
        if not rows:
            return []
        statement: Insert
        if self._engine.dialect.name == "postgresql":
            statement = postgresql_insert(Slot).on_conflict_do_nothing(index_elements=["id"])
        else:
            statement = sqlite_insert(Slot).on_conflict_do_nothing(index_elements=["id"])
        # RETURNING names the rows inserted (psycopg's rowcount does not, after ON CONFLICT).
        statement = statement.returning(col(Slot.id))
        inserted: list[str] = []
        with self._session() as session:
            for row in rows:
                result = session.connection().execute(statement.values(**row))
                inserted.extend(str(found) for found in result.scalars())
            session.commit()
        return inserted

    def close_slot(self, slot_id: str, now: int) -> bool:
        """Close a free slot; False if it is booked, closed already, or gone: against a
        booking at the same moment, the database lets exactly one of the two change it."""
        return self._update_one(
            update(Slot)
            .where(col(Slot.id) == slot_id, col(Slot.appointment_id).is_(None),
                   col(Slot.closed_at).is_(None))
            .values(closed_at=now)
        )

    def hospital_appointments(
        self, hospital_id: str, start: int, end: int, doctor_id: str | None
    ) -> list[AppointmentView]:
        """Every appointment at the hospital whose slot starts in [start, end), by time."""
        with self._session() as session:
            query = (
                appointments_with_places()
                .where(
                    col(Slot.hospital_id) == hospital_id,
                    col(Slot.starts_at) >= start,
                    col(Slot.starts_at) < end,
                )
            )
            if doctor_id:
                query = query.where(col(Slot.doctor_id) == doctor_id)
            rows = session.exec(query.order_by(col(Slot.starts_at), col(Doctor.name)))
            return [AppointmentView(*row) for row in rows.all()]

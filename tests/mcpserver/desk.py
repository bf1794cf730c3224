"""Appointments made for the hospital desk's tests: booked, at a slot that has started (so
it can be marked attended) or is still to come."""

from __future__ import annotations

import secrets

from mcpserver.domain.models import Appointment, Slot
from tests.harness import Stack


def booked(stack: Stack, patient_sub: str, hospital_id: str, *, starts_in: int) -> str:
    """A booked appointment of ``patient_sub`` with the hospital's first doctor, starting
    ``starts_in`` seconds from now (negative: it has started); its id."""
    now = stack.auth.clock()
    doctor_id = f"{hospital_id}-dr1"
    slot_id = f"{doctor_id}-test-{secrets.token_hex(4)}"
    appointment_id = f"apt_{secrets.token_urlsafe(12)}"
    stack.domain.bulk_insert(Slot, [{
        "id": slot_id, "doctor_id": doctor_id, "hospital_id": hospital_id,
        "starts_at": now + starts_in, "duration_minutes": 30, "appointment_id": appointment_id,
        "closed_at": None,
    }])
    stack.domain.bulk_insert(Appointment, [{
        "id": appointment_id, "account_sub": patient_sub, "patient_name": "Alice Martin",
        "slot_id": slot_id,
        "reason": "Knee pain after running", "status": "booked", "created_at": now - 86400,
        "cancelled_at": None, "status_reason": None, "status_changed_at": None,
        "status_changed_by": None,
    }])
    return appointment_id

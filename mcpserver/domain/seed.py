"""A deterministic demo directory: 60 hospitals in 12 French cities, doctors, and bookable
slots for the next 30 days; and for the demo patients, past consultations with their notes
(their medical records). The same seed, start day and patients always give the same data."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from mcpserver.domain.models import (
    Appointment,
    Consultation,
    Doctor,
    Hospital,
    HospitalStatus,
    Slot,
)
from mcpserver.domain.store import DomainStore
from shared.clock import PARIS

SEED = 20261121
DAYS = 30
HOSPITALS_PER_CITY = 5
DOCTORS_PER_HOSPITAL = 4
SLOT_HOURS = (9, 11, 14, 16)

CITIES: tuple[tuple[str, float, float, str], ...] = (
    ("Paris", 48.8566, 2.3522, "75"),
    ("Lyon", 45.7640, 4.8357, "69"),
    ("Marseille", 43.2965, 5.3698, "13"),
    ("Toulouse", 43.6047, 1.4442, "31"),
    ("Nice", 43.7102, 7.2620, "06"),
    ("Nantes", 47.2184, -1.5536, "44"),
    ("Strasbourg", 48.5734, 7.7521, "67"),
    ("Montpellier", 43.6108, 3.8767, "34"),
    ("Bordeaux", 44.8378, -0.5792, "33"),
    ("Lille", 50.6292, 3.0573, "59"),
    ("Rennes", 48.1173, -1.6778, "35"),
    ("Reims", 49.2583, 4.0317, "51"),
)
NAMES = (
    "Centre Hospitalier Universitaire de {city}",
    "Hôpital Saint-Louis de {city}",
    "Clinique du Parc",
    "Hôpital Pasteur",
    "Polyclinique des Quatre Saisons",
)
STREETS = ("rue de la République", "avenue Jean Jaurès", "boulevard Pasteur", "rue Victor Hugo",
           "avenue de la Libération", "rue des Lilas", "quai de la Santé")
SERVICES = ("emergency", "cardiology", "pediatrics", "maternity", "oncology", "radiology",
            "orthopedics", "neurology", "dermatology", "ophthalmology")
SPECIALTIES = ("general practice", "cardiology", "pediatrics", "dermatology", "neurology",
               "orthopedics", "ophthalmology", "gynecology")
GIVEN = ("Camille", "Louis", "Léa", "Hugo", "Chloé", "Jules", "Manon", "Gabriel", "Inès", "Arthur",
         "Sarah", "Lucas", "Emma", "Nathan", "Zoé", "Paul")
FAMILY = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
          "Leroy", "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "Roux")
# Each demo patient's past consultations: days before the start day, Paris hour, hospital and
# doctor, the reason they gave and the note the doctor wrote.
CONSULTATIONS = (
    (62, 9, "paris-1", "paris-1-dr1", "Persistent cough",
     "Viral bronchitis. Rest, fluids; no antibiotics needed. Come back if fever lasts."),
    (34, 14, "paris-2", "paris-2-dr2", "Chest pain when climbing stairs",
     "ECG and stress test normal. Likely muscular; reassess in three months."),
    (9, 11, "paris-1", "paris-1-dr3", "Itchy rash on both arms",
     "Contact eczema. Emollient twice daily and a mild steroid cream for one week."),
)


def seed_demo(
    store: DomainStore, today: date, now: int, patients: Sequence[str] = ()
) -> bool:
    """Fill an empty store with the demo directory, and the past consultations of the demo
    ``patients`` (their `sub`s); False if it already had data."""
    if not store.is_empty():
        return False
    rng = random.Random(SEED)
    hospitals: list[dict[str, object]] = []
    statuses: list[dict[str, object]] = []
    doctors: list[dict[str, object]] = []
    slots: list[dict[str, object]] = []
    starts = _slot_starts(today)
    for city, lat, lon, dept in CITIES:
        for index in range(HOSPITALS_PER_CITY):
            # One random sequence for the whole directory, drawn in this order: a hospital,
            # its status, then its doctors (a different order would give other data).
            hospital = _hospital(rng, index, city, lat, lon, dept)
            hospitals.append(hospital)
            statuses.append(_status(rng, str(hospital["id"]), now))
            for number in range(DOCTORS_PER_HOSPITAL):
                doctor = _doctor(rng, str(hospital["id"]), index, number)
                doctors.append(doctor)
                slots.extend(_slots(str(doctor["id"]), str(hospital["id"]), starts))
    store.bulk_insert(Hospital, hospitals)
    store.bulk_insert(HospitalStatus, statuses)
    store.bulk_insert(Doctor, doctors)
    store.bulk_insert(Slot, slots)
    _seed_records(store, today, patients)
    return True


def _hospital(
    rng: random.Random, index: int, city: str, lat: float, lon: float, dept: str
) -> dict[str, object]:
    """The ``index``-th hospital of ``city``: the first two have an emergency department."""
    return {
        "id": f"{city.lower()}-{index + 1}",
        "name": NAMES[index].format(city=city),
        "city": city,
        "address": f"{rng.randint(1, 180)} {rng.choice(STREETS)}, "
                   f"{dept}{rng.randint(0, 9)}{rng.randint(0, 9)}0 {city}",
        "latitude": round(lat + rng.uniform(-0.06, 0.06), 5),
        "longitude": round(lon + rng.uniform(-0.08, 0.08), 5),
        "services": sorted(
            ({"emergency"} if index < 2 else set()) | set(rng.sample(SERVICES, 4))
        ),
        "phone": f"+33 {rng.randint(1, 5)} {rng.randint(10, 99)} "
                 f"{rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}",
    }


def _status(rng: random.Random, hospital_id: str, now: int) -> dict[str, object]:
    return {
        "hospital_id": hospital_id,
        "beds_available": rng.randint(0, 120),
        "icu_beds_available": rng.randint(0, 15),
        "ventilators_available": rng.randint(0, 12),
        "emergency_wait_minutes": rng.randint(5, 240),
        "updated_at": now,
        "updated_by": None,
    }


def _doctor(rng: random.Random, hospital_id: str, index: int, number: int) -> dict[str, object]:
    return {
        "id": f"{hospital_id}-dr{number + 1}",
        "name": f"Dr {rng.choice(GIVEN)} {rng.choice(FAMILY)}",
        "specialty": SPECIALTIES[(index + number) % len(SPECIALTIES)],
        "hospital_id": hospital_id,
    }


def _seed_records(store: DomainStore, today: date, patients: Sequence[str]) -> None:
    slots: list[dict[str, object]] = []
    appointments: list[dict[str, object]] = []
    records: list[dict[str, object]] = []
    for number, sub in enumerate(patients, start=1):
        for index, (days, hour, hospital_id, doctor_id, reason, note) in enumerate(
            CONSULTATIONS, start=1
        ):
            day = today - timedelta(days=days + number)
            local = datetime.combine(day, time(hour), tzinfo=PARIS)
            starts_at = int(local.astimezone(UTC).timestamp())
            appointment_id = f"apt_demo_{number}_{index}"
            slots.append({
                "id": f"{doctor_id}-{day:%Y%m%d}-{hour:02d}", "doctor_id": doctor_id,
                "hospital_id": hospital_id, "starts_at": starts_at, "duration_minutes": 30,
                "appointment_id": appointment_id, "closed_at": None,
            })
            appointments.append({
                "id": appointment_id, "account_sub": sub, "patient_name": None,
                "slot_id": slots[-1]["id"],
                "reason": reason, "status": "attended", "created_at": starts_at - 7 * 86400,
                "cancelled_at": None, "status_reason": None, "status_changed_at": starts_at,
                "status_changed_by": None,
            })
            records.append({
                "id": f"rec_demo_{number}_{index}", "appointment_id": appointment_id,
                "account_sub": sub, "hospital_id": hospital_id, "note": note,
                "created_at": starts_at + 3600, "updated_at": starts_at + 3600,
                "written_by": doctor_id,
            })
    store.bulk_insert(Slot, slots)
    store.bulk_insert(Appointment, appointments)
    store.bulk_insert(Consultation, records)


def _slot_starts(today: date) -> list[tuple[str, int]]:
    """Weekday consultation times at fixed Paris hours: (label, start in UTC seconds)."""
    starts: list[tuple[str, int]] = []
    for offset in range(1, DAYS + 1):
        day = today + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for hour in SLOT_HOURS:
            local = datetime.combine(day, time(hour), tzinfo=PARIS)
            starts.append((f"{day:%Y%m%d}-{hour:02d}", int(local.astimezone(UTC).timestamp())))
    return starts


def _slots(
    doctor_id: str, hospital_id: str, starts: list[tuple[str, int]]
) -> list[dict[str, object]]:
    return [
        {"id": f"{doctor_id}-{label}", "doctor_id": doctor_id, "hospital_id": hospital_id,
         "starts_at": starts_at, "duration_minutes": 30, "appointment_id": None,
         "closed_at": None}
        for label, starts_at in starts
    ]

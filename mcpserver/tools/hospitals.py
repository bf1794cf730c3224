"""Hospital directory, live status, doctors and slots (read:data); status updates (write:data)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field

from mcpserver.access_log import Whose
from mcpserver.context import current
from mcpserver.domain.models import Hospital, HospitalStatus
from mcpserver.messages import _
from mcpserver.refusal import Refusal
from mcpserver.tools import (
    Tools,
    day_range,
    not_your_hospital,
    paris_time,
    run,
    start_of_day,
)

HospitalId = Annotated[
    str, Field(min_length=1, max_length=64, description="A hospital id, e.g. paris-1.")
]
Limit = Annotated[int, Field(ge=1, le=100, description="At most this many results (1-100).")]
Service = Annotated[
    str | None,
    Field(
        default=None, max_length=64,
        description="Only hospitals offering this service, e.g. cardiology.",
    ),
]
READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)


class HospitalSummary(BaseModel):
    id: str
    name: str
    city: str
    address: str
    latitude: float
    longitude: float
    services: list[str]
    phone: str
    distance_km: float | None = None


class HospitalList(BaseModel):
    hospitals: list[HospitalSummary]


class LiveStatus(BaseModel):
    hospital_id: str
    beds_available: int
    icu_beds_available: int
    ventilators_available: int
    emergency_wait_minutes: int
    updated_at: str


class DoctorInfo(BaseModel):
    id: str
    name: str
    specialty: str
    hospital_id: str


class DoctorList(BaseModel):
    doctors: list[DoctorInfo]


class SlotInfo(BaseModel):
    slot_id: str
    starts_at: str
    duration_minutes: int
    doctor_id: str
    doctor_name: str
    specialty: str
    hospital_id: str
    hospital_name: str


class SlotList(BaseModel):
    slots: list[SlotInfo]


def summary(hospital: Hospital, distance: float | None = None) -> HospitalSummary:
    return HospitalSummary(
        **hospital.model_dump(),
        distance_km=None if distance is None else round(distance, 2),
    )


def live(status: HospitalStatus) -> LiveStatus:
    return LiveStatus(
        **status.model_dump(exclude={"updated_at", "updated_by"}),
        updated_at=paris_time(status.updated_at),
    )


async def _hospital(hospital_id: str) -> Hospital:
    hospital = await run(current().services.store.hospital, hospital_id)
    if hospital is None:
        raise Refusal(_("No hospital has the id %(id)s. Use search_hospitals to find one.",
                        id=repr(hospital_id)))
    return hospital


async def search_hospitals(
    city: Annotated[
        str | None, Field(default=None, max_length=80, description="A city, e.g. Lyon.")
    ] = None,
    latitude: Annotated[float | None, Field(default=None, ge=-90, le=90)] = None,
    longitude: Annotated[float | None, Field(default=None, ge=-180, le=180)] = None,
    radius_km: Annotated[float, Field(gt=0, le=500, description="Search radius in km.")] = 20,
    service: Service = None,
    limit: Limit = 20,
) -> HospitalList:
    """Find hospitals by city, or near a latitude/longitude within radius_km; optionally only
    those offering a service. Give either city, or both latitude and longitude."""
    store = current().services.store
    if city and (latitude is None and longitude is None):
        found = await run(store.hospitals_in_city, city, service, limit)
        return HospitalList(hospitals=[summary(h) for h in found])
    if city is None and latitude is not None and longitude is not None:
        near = await run(store.hospitals_near, latitude, longitude, radius_km, service, limit)
        return HospitalList(hospitals=[summary(h, km) for h, km in near])
    raise Refusal(_("Give either a city, or both latitude and longitude (not both kinds)."))


async def get_hospital(hospital_id: HospitalId) -> HospitalSummary:
    """Details of one hospital: address, coordinates, services and phone."""
    return summary(await _hospital(hospital_id))


async def get_hospital_status(hospital_id: HospitalId) -> LiveStatus:
    """Live status of a hospital: available beds, ICU beds, ventilators, emergency wait."""
    await _hospital(hospital_id)
    status = await run(current().services.store.status, hospital_id)
    if status is None:
        raise Refusal(_("No live status is published for %(id)s yet.", id=repr(hospital_id)))
    return live(status)


async def update_hospital_status(
    hospital_id: HospitalId,
    beds_available: Annotated[int | None, Field(default=None, ge=0, le=10_000)] = None,
    icu_beds_available: Annotated[int | None, Field(default=None, ge=0, le=1_000)] = None,
    ventilators_available: Annotated[int | None, Field(default=None, ge=0, le=1_000)] = None,
    emergency_wait_minutes: Annotated[int | None, Field(default=None, ge=0, le=2_880)] = None,
) -> LiveStatus:
    """Staff only: update the live status of a hospital you belong to. Give only the figures
    that changed."""
    call = current()
    if call.identity.role not in {"staff", "admin"}:
        raise Refusal(_("Only hospital staff can update the live status."))
    # Before the hospital is looked up: an id guessed or not, the same answer.
    if not call.identity.manages(hospital_id):
        raise Refusal(not_your_hospital(hospital_id))
    values: dict[str, int | str] = {
        name: value
        for name, value in (
            ("beds_available", beds_available),
            ("icu_beds_available", icu_beds_available),
            ("ventilators_available", ventilators_available),
            ("emergency_wait_minutes", emergency_wait_minutes),
        )
        if value is not None
    }
    if not values:
        raise Refusal(_("Give at least one figure to update."))
    await _hospital(hospital_id)
    values.update(updated_at=int(call.services.clock()), updated_by=call.identity.sub)
    status = await run(call.services.store.update_status, hospital_id, values)
    if status is None:
        raise Refusal(_("No live status is published for %(id)s yet.", id=repr(hospital_id)))
    return live(status)


async def list_doctors(
    hospital_id: HospitalId,
    specialty: Annotated[str | None, Field(default=None, max_length=64)] = None,
) -> DoctorList:
    """Doctors working at a hospital, optionally only one specialty (e.g. cardiology)."""
    await _hospital(hospital_id)
    doctors = await run(current().services.store.doctors, hospital_id, specialty)
    return DoctorList(doctors=[DoctorInfo(**d.model_dump()) for d in doctors])


async def find_available_slots(
    date_from: Annotated[str, Field(description="First day, YYYY-MM-DD (Europe/Paris).")],
    date_to: Annotated[str, Field(description="Last day, YYYY-MM-DD; at most 31 days in all.")],
    hospital_id: Annotated[str | None, Field(default=None, max_length=64)] = None,
    doctor_id: Annotated[str | None, Field(default=None, max_length=80)] = None,
    specialty: Annotated[str | None, Field(default=None, max_length=64)] = None,
    limit: Limit = 20,
) -> SlotList:
    """Free appointment slots between two days, by hospital, doctor or specialty (at least one)."""
    if not (hospital_id or doctor_id or specialty):
        raise Refusal(_("Give a hospital_id, a doctor_id or a specialty."))
    first, last = day_range(date_from, date_to)
    call = current()
    now = int(call.services.clock())
    if start_of_day(last + timedelta(days=1)) <= now:
        raise Refusal(_("date_to is in the past."))
    if hospital_id:
        await _hospital(hospital_id)
    views = await run(
        lambda: call.services.store.free_slots(
            start=max(now, start_of_day(first)),
            end=start_of_day(last + timedelta(days=1)),
            hospital_id=hospital_id,
            doctor_id=doctor_id,
            specialty=specialty,
            limit=limit,
        )
    )
    return SlotList(
        slots=[
            SlotInfo(
                slot_id=v.slot.id,
                starts_at=paris_time(v.slot.starts_at),
                duration_minutes=v.slot.duration_minutes,
                doctor_id=v.doctor.id,
                doctor_name=v.doctor.name,
                specialty=v.doctor.specialty,
                hospital_id=v.hospital.id,
                hospital_name=v.hospital.name,
            )
            for v in views
        ]
    )


async def hospital_resource(hospital_id: str) -> str:
    """A hospital by id, as a JSON resource."""
    return summary(await _hospital(hospital_id)).model_dump_json()


def register(tools: Tools) -> None:
    for tool in (search_hospitals, get_hospital, get_hospital_status, list_doctors,
                 find_available_slots):
        tools.add(tool, scope="read:data", annotations=READ_ONLY)
    tools.add(
        update_hospital_status, scope="write:data",
        annotations=ToolAnnotations(read_only_hint=False, idempotent_hint=True),
        logged=Whose.HOSPITAL,
    )
    tools.mcp.resource(
        "hospital://{hospital_id}",
        name="hospital",
        description="A hospital of the HospiAI directory, by id.",
        mime_type="application/json",
    )(hospital_resource)

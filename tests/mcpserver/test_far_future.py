"""Unix times past January 2038, beyond a 32-bit integer: slots, bookings and live status of the
MCP server's store on both backends (PostgreSQL's INTEGER would overflow)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from mcpserver.domain.models import Appointment
from mcpserver.domain.seed import seed_demo
from mcpserver.domain.store import DomainStore
from shared.database import create_db_engine
from tests.databases import Databases, both_backends

pytestmark = both_backends

INT32_MAX = 2**31 - 1
DAY = 86400
NOW = int(datetime(2040, 1, 2, 8, tzinfo=UTC).timestamp())


@pytest.fixture
def store(databases: Databases) -> Iterator[DomainStore]:
    store = DomainStore(create_db_engine(databases.url("mcp")))
    store.upgrade_schema()
    seed_demo(store, date(2040, 1, 2), NOW)
    yield store
    store.dispose()


def test_slots_after_2038_are_found_booked_and_cancelled(store: DomainStore) -> None:
    found = store.free_slots(start=NOW, end=NOW + 7 * DAY, hospital_id="lyon-1", doctor_id=None,
                             specialty=None, limit=5)
    assert found and all(NOW < view.slot.starts_at < NOW + 7 * DAY for view in found)
    slot = found[0].slot
    assert slot.starts_at > INT32_MAX
    store.book(Appointment(id="appt-2040", account_sub="acct_1", slot_id=slot.id,
                           reason="Check-up", status="booked", created_at=NOW), NOW)
    [booked] = store.appointments("acct_1", since=NOW)
    assert booked.appointment.created_at == NOW and booked.slot.starts_at == slot.starts_at
    assert store.cancel("appt-2040", "acct_1", NOW + 60)
    assert store.appointments("acct_1", since=NOW) == []
    [cancelled] = store.appointments("acct_1", since=None)
    assert cancelled.appointment.cancelled_at == NOW + 60


def test_live_status_updated_after_2038(store: DomainStore) -> None:
    status = store.status("lyon-1")
    assert status is not None and status.updated_at == NOW
    updated = store.update_status("lyon-1", {"beds_available": 3, "updated_at": NOW + DAY})
    assert updated is not None and updated.updated_at == NOW + DAY > INT32_MAX

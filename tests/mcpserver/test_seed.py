"""The demo directory is deterministic and large enough to be realistic."""

from __future__ import annotations

import datetime

from sqlmodel import Session, func, select

from mcpserver.domain.models import Doctor, Hospital, Slot
from mcpserver.domain.seed import seed_demo
from mcpserver.domain.store import DomainStore
from shared.database import create_db_engine
from tests.databases import Databases, both_backends

DAY = datetime.date(2026, 11, 21)


def _seeded(url: str) -> DomainStore:
    store = DomainStore(create_db_engine(url))
    store.upgrade_schema()
    assert seed_demo(store, DAY, 1_700_000_000)
    return store


@both_backends
def test_seed_is_deterministic_realistic_and_once(databases: Databases) -> None:
    first, second = _seeded(databases.url("a")), _seeded(databases.url("b"))
    with Session(first._engine) as a, Session(second._engine) as b:
        hospitals = a.exec(select(Hospital).order_by(Hospital.id)).all()
        assert [h.model_dump() for h in hospitals] == [
            h.model_dump() for h in b.exec(select(Hospital).order_by(Hospital.id)).all()
        ]
        assert len(hospitals) >= 50
        assert len({h.city for h in hospitals}) >= 10
        assert all(41 < h.latitude < 51.5 and -5.5 < h.longitude < 10 for h in hospitals)
        assert len(set(a.exec(select(Doctor.specialty)).all())) >= 5
        first_slot, last_slot = a.exec(
            select(func.min(Slot.starts_at), func.max(Slot.starts_at))
        ).one()
    start = datetime.datetime(2026, 11, 22, tzinfo=datetime.UTC).timestamp()
    assert start - 86400 < first_slot and last_slot < start + 31 * 86400
    assert not seed_demo(first, DAY, 1_700_000_000)
    first.dispose()
    second.dispose()


@both_backends
def test_demo_patients_have_deterministic_records_of_their_own(databases: Databases) -> None:
    stores = []
    for name in ("a", "b"):
        store = DomainStore(create_db_engine(databases.url(name)))
        store.upgrade_schema()
        assert seed_demo(store, DAY, 1_700_000_000, ["acct_paula", "acct_pierre"])
        stores.append(store)
    first, second = stores
    for sub in ("acct_paula", "acct_pierre"):
        records = first.records(sub)
        assert len(records) == 3
        assert {r.consultation.account_sub for r in records} == {sub}
        assert all(r.appointment.appointment.status == "attended" for r in records)
        before = datetime.datetime(2026, 11, 21, tzinfo=datetime.UTC).timestamp()
        assert all(r.appointment.slot.starts_at < before for r in records)
        assert [r.consultation.model_dump() for r in records] == [
            r.consultation.model_dump() for r in second.records(sub)]
    assert first.records("acct_someone_else") == []
    for store in stores:
        store.dispose()

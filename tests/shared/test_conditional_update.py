"""SQLStore's conditional UPDATE: exactly one of concurrent callers wins, and what it stores
with the update is stored only by the winner, in the same transaction."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy.sql.dml import UpdateBase
from sqlmodel import col, update

from authserver.models import Account, AuditEvent
from authserver.store import Store
from shared.database import create_db_engine
from tests.databases import Databases, both_backends

pytestmark = both_backends

CALLERS = 10


@pytest.fixture
def store(databases: Databases) -> Iterator[Store]:
    found = Store(create_db_engine(databases.url("auth")))
    found.upgrade_schema()
    found.add_account(
        Account(id="acc_1", email="a@hospiai.test", email_key="a@hospiai.test",
                password_hash="x", given_name="A", family_name="B", created_at=0)
    )
    yield found
    found.dispose()


def _disable(account_id: str) -> UpdateBase:
    """Single use: only an enabled account can be disabled."""
    return (
        update(Account)
        .where(col(Account.id) == account_id, col(Account.disabled).is_(False))
        .values(disabled=True)
    )


def _rename(name: str) -> UpdateBase:
    return update(Account).where(col(Account.id) == "acc_1").values(given_name=name)


def test_a_match_stores_the_rows_and_runs_the_statements(store: Store) -> None:
    event = AuditEvent(at=1, event="admin.account_disabled", detail={})
    assert store._update_one(_disable("acc_1"), add=[event], then=[_rename("C")])
    account = store.account("acc_1")
    assert account is not None and account.disabled and account.given_name == "C"
    assert [found.event for found in store.audit_events()] == ["admin.account_disabled"]


def test_no_match_stores_nothing(store: Store) -> None:
    assert store._update_one(_disable("acc_1"))
    event = AuditEvent(at=2, event="admin.account_disabled", detail={})
    assert not store._update_one(_disable("acc_1"), add=[event], then=[_rename("C")])
    assert not store._update_one(_disable("acc_unknown"), add=[event])
    account = store.account("acc_1")
    assert account is not None and account.given_name == "A"
    assert store.audit_events() == []


def test_exactly_one_of_concurrent_callers_wins(store: Store) -> None:
    start = threading.Barrier(CALLERS)

    def attempt(index: int) -> bool:
        start.wait()
        event = AuditEvent(at=index, event="admin.account_disabled", detail={"by": index})
        return store._update_one(_disable("acc_1"), add=[event])

    with ThreadPoolExecutor(max_workers=CALLERS) as pool:
        won = list(pool.map(attempt, range(CALLERS)))
    assert won.count(True) == 1
    assert len(store.audit_events()) == 1

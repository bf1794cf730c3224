"""The authorization server's data migrations, run on a database holding what an older release
could have left in it."""

from __future__ import annotations

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from authserver.models import (
    ACCOUNT_PAGE_CLIENT_ID,
    PERSONAL_CLIENT_ID,
    AccessToken,
    AuthorizationCode,
    Grant,
    RefreshToken,
)
from authserver.store import Store
from shared import migrations
from shared.database import create_db_engine
from tests.databases import Databases, both_backends

pytestmark = both_backends

RESOURCE = "https://mcp.example/mcp"


def _grant(grant_id: str, created_at: int, scope: str, **columns: object) -> Grant:
    values: dict[str, object] = {
        "account_id": "acct_1", "client_id": "client_1", "resource": RESOURCE,
        "last_used_at": None, "revoked_at": None,
    }
    values.update(columns)
    return Grant(id=grant_id, created_at=created_at, scope=scope, **values)  # type: ignore[arg-type]


def _issued(grant_id: str) -> list[AuthorizationCode | AccessToken | RefreshToken]:
    common = {"grant_id": grant_id, "client_id": "client_1", "account_id": "acct_1",
              "scope": "read:data", "resource": RESOURCE}
    return [
        AuthorizationCode(code_hash=f"code-{grant_id}", redirect_uri="http://127.0.0.1/cb",
                          code_challenge="x" * 43, code_challenge_method="S256",
                          created_at=1, expires_at=2, **common),  # type: ignore[arg-type]
        AccessToken(token_hash=f"access-{grant_id}", issued_at=1, expires_at=2, **common),  # type: ignore[arg-type]
        RefreshToken(token_hash=f"refresh-{grant_id}", issued_at=1, expires_at=2, **common),  # type: ignore[arg-type]
    ]


def test_twin_live_grants_merge_into_the_oldest_losing_nothing(databases: Databases) -> None:
    """0002: before the unique index on live grants, twins left by concurrent approvals are
    merged into the oldest; its codes and tokens, scopes and latest use are the union."""
    url = databases.url("auth")
    engine = create_db_engine(url)
    migrations.upgrade(engine, "authserver", [t.name for t in Store.tables()], target="0001")
    rows = [
        # Revoked long ago: neither a twin nor the one kept, even though it is the oldest.
        _grant("grant_revoked", 50, "write:data", revoked_at=60),
        _grant("grant_oldest", 100, "read:data", last_used_at=150),
        _grant("grant_twin_b", 200, "read:bookings offline_access", last_used_at=300),
        _grant("grant_twin_c", 300, "read:data write:bookings"),
        # Another resource: not a twin.
        _grant("grant_other", 120, "read:profile", resource="https://other.example/mcp"),
        # Personal access tokens: one grant per token, never merged.
        _grant("grant_pat_1", 100, "read:data", client_id=PERSONAL_CLIENT_ID),
        _grant("grant_pat_2", 200, "read:data", client_id=PERSONAL_CLIENT_ID),
    ]
    issued = [row for grant_id in ("grant_oldest", "grant_twin_b", "grant_twin_c")
              for row in _issued(grant_id)]
    with Session(engine, expire_on_commit=False) as session:
        # The grants as release 0001 stored them: without the columns added since (0014).
        session.connection().execute(
            insert(Grant), [row.model_dump(exclude={"amr", "auth_time"}) for row in rows]
        )
        session.add_all(issued)
        session.commit()
    engine.dispose()

    store = Store(create_db_engine(url))
    store.upgrade_schema()
    kept = store.grant("grant_oldest")
    assert kept is not None and kept.revoked_at is None
    assert set(kept.scope.split()) == {
        "read:data", "read:bookings", "offline_access", "write:bookings"}
    assert kept.last_used_at == 300
    for twin_id in ("grant_twin_b", "grant_twin_c"):
        twin = store.grant(twin_id)
        assert twin is not None and twin.revoked_at is not None
    for grant_id in ("grant_oldest", "grant_twin_b", "grant_twin_c"):
        code = store.code(f"code-{grant_id}")
        access = store.access_token(f"access-{grant_id}")
        refresh = store.refresh_token(f"refresh-{grant_id}")
        assert code and access and refresh
        assert {code.grant_id, access.grant_id, refresh.grant_id} == {"grant_oldest"}
    untouched = {row.id: row for row in rows if row.id not in {
        "grant_oldest", "grant_twin_b", "grant_twin_c"}}
    for grant_id, row in untouched.items():
        stored = store.grant(grant_id)
        assert stored is not None and stored.model_dump() == row.model_dump()

    # From now on the database itself refuses a second live grant, except a personal one.
    store.issue_personal_token(
        _grant("grant_pat_3", 400, "read:data", client_id=PERSONAL_CLIENT_ID),
        AccessToken(token_hash="access-pat-3", grant_id="grant_pat_3",
                    client_id=PERSONAL_CLIENT_ID, account_id="acct_1", scope="read:data",
                    resource=RESOURCE, issued_at=400, expires_at=500),
    )
    with Session(store._engine) as session, pytest.raises(IntegrityError):
        session.add(_grant("grant_second", 400, "read:data"))
        session.commit()
    store.dispose()


def test_the_account_pages_grants_lose_their_english_name_and_nothing_else(
    databases: Databases,
) -> None:
    """0019: the account page's grants were named in English; a personal token keeps the name
    its user gave it."""
    url = databases.url("auth")
    engine = create_db_engine(url)
    migrations.upgrade(engine, "authserver", [t.name for t in Store.tables()], target="0018")
    rows = [
        _grant("grant_page", 100, "read:profile", client_id=ACCOUNT_PAGE_CLIENT_ID,
               name="Account page: data access"),
        _grant("grant_pat", 100, "read:data", client_id=PERSONAL_CLIENT_ID, name="Mon script"),
        _grant("grant_app", 100, "read:data"),
    ]
    with Session(engine, expire_on_commit=False) as session:
        session.add_all(rows)
        session.commit()
    engine.dispose()

    store = Store(create_db_engine(url))
    store.upgrade_schema()
    names = {row.id: getattr(store.grant(row.id), "name", "gone") for row in rows}
    assert names == {"grant_page": None, "grant_pat": "Mon script", "grant_app": None}
    store.dispose()

"""``hospiai db upgrade``: both services' databases migrated to this version's schema."""

from __future__ import annotations

from authserver.settings import Settings
from authserver.store import Store
from mcpserver.domain.store import DomainStore
from mcpserver.settings import Settings as McpSettings
from shared.database import SQLStore, create_db_engine
from shared.settings import environ


def upgrade_databases() -> int:
    env = environ()
    stores: list[SQLStore] = [
        Store(create_db_engine(Settings.database_url_from_env(env))),
        DomainStore(create_db_engine(McpSettings.database_url_from_env(env))),
    ]
    for store in stores:
        try:
            before, after = store.upgrade_schema()
        finally:
            store.dispose()
        state = "up to date" if before == after else f"upgraded from {_revisions(before)}"
        print(f"{store.SERVICE}: at {_revisions(after)} ({state})")
    return 0


def _revisions(revisions: set[str]) -> str:
    return ", ".join(sorted(revisions)) or "none (empty)"

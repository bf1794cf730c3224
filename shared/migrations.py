"""Schema migrations (Alembic), run from code: each service keeps its scripts in its package
(``<service>/migrations``, shipped in the wheel) and its history in its own version table
(``alembic_version_<service>``), so the two may share one database or use separate ones."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence

from alembic import command, context, op
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

log = logging.getLogger(__name__)

UPGRADE = "hospiai db upgrade"


class SchemaError(Exception):
    """The database's schema is not the one this code needs; the message says what to do."""


def version_table(service: str) -> str:
    return f"alembic_version_{service}"


def _config(service: str, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", f"{service}:migrations")
    config.attributes["connection"] = connection
    config.attributes["version_table"] = version_table(service)
    return config


def _revisions(connection: Connection, service: str) -> set[str]:
    migration = MigrationContext.configure(
        connection, opts={"version_table": version_table(service)}
    )
    return set(migration.get_current_heads())


def upgrade(
    engine: Engine, service: str, tables: Collection[str], target: str = "head"
) -> tuple[set[str], set[str]]:
    """Bring the service's schema to the newest revision (or to ``target``, for a test of one
    migration): (revisions before, after)."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two upgrades at once (a job started twice, replicas): the second waits for the
            # first to commit, then finds nothing to do. Released when the transaction ends.
            connection.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:name))"),
                {"name": version_table(service)},
            )
        before = _revisions(connection, service)
        existing = set(inspect(connection).get_table_names())
        if not before and existing & set(tables):
            raise SchemaError(
                f"the {service} database has tables but no migration history: it was made "
                "before migrations existed; start from an empty database (for `hospiai dev`, "
                "delete its data directory)"
            )
        command.upgrade(_config(service, connection), target)
        return before, _revisions(connection, service)


def check(engine: Engine, service: str) -> None:
    """Raise SchemaError if the database is behind the code. A database ahead of the code (a
    revision this code does not know) is accepted, as during a rolling upgrade whose
    migrations ran before every old replica stopped."""
    scripts = ScriptDirectory.from_config(_config(service))
    with engine.connect() as connection:
        current = _revisions(connection, service)
    heads = set(scripts.get_heads())
    if current == heads:
        return
    known = {script.revision for script in scripts.walk_revisions()}
    if current - known:
        log.warning(
            "the %s database is at revision %s, newer than this code: carrying on",
            service, ", ".join(sorted(current)),
        )
        return
    raise SchemaError(
        f"the {service} database schema is behind the code (at revision "
        f"{', '.join(sorted(current)) or 'none'}, needs {', '.join(sorted(heads))}): "
        f"run `{UPGRADE}`"
    )


def run_migrations() -> None:
    """The body of every service's ``env.py``: migrate the connection `upgrade` handed over."""
    attributes = context.config.attributes
    context.configure(
        connection=attributes["connection"], version_table=attributes["version_table"]
    )
    with context.begin_transaction():
        context.run_migrations()


def widen_to_bigint(columns: Mapping[str, Sequence[str]]) -> None:
    """For a migration: make integer columns (per table) BIGINT on PostgreSQL, in one ALTER
    TABLE per table, so each table is rewritten once; a serial column's sequence too, which
    would otherwise stop at 2**31 - 1. Nothing to do on SQLite, whose INTEGER already holds 64
    bits (see shared.database.INT64)."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    quote = bind.dialect.identifier_preparer.quote
    for table, names in columns.items():
        changes = ", ".join(f"ALTER COLUMN {quote(name)} TYPE BIGINT" for name in names)
        op.execute(f"ALTER TABLE {quote(table)} {changes}")
        for name in names:
            sequence = bind.execute(
                text("SELECT pg_get_serial_sequence(:table, :column)"),
                {"table": quote(table), "column": name},
            ).scalar()
            if sequence is not None:
                # Already quoted and qualified by PostgreSQL.
                op.execute(f"ALTER SEQUENCE {sequence} AS BIGINT")

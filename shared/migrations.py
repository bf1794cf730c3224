"""Schema migrations (Alembic), run from code: each service keeps its scripts in its package
(``<service>/migrations``, shipped in the wheel) and its history in its own version table
(``alembic_version_<service>``), so the two may share one database or use separate ones.

A served process only checks its schema (`check`), without Alembic: the applied revisions
are read from the version table, the known ones from the scripts' file names
(``<revision>_<what>.py``, one line of history in that order, as
tests/shared/test_migrations.py holds every script to). Alembic, its templates and the
scripts it loads were 7 MiB of each service's memory (the MCP server's RSS after start-up 125
against 118 MiB, after the benchmark's load 141 against 135; its target is 150, issue 14), so
they are imported only where a migration runs."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from importlib import resources
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

UPGRADE = "hospiai db upgrade"


class SchemaError(Exception):
    """The database's schema is not the one this code needs; the message says what to do."""


def version_table(service: str) -> str:
    return f"alembic_version_{service}"


def _config(service: str, connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", f"{service}:migrations")
    config.attributes["connection"] = connection
    config.attributes["version_table"] = version_table(service)
    return config


def applied(connection: Connection, service: str) -> set[str]:
    """The revisions the database is at (none before its first migration)."""
    table = version_table(service)
    if not inspect(connection).has_table(table):
        return set()
    return set(connection.execute(text(f"SELECT version_num FROM {table}")).scalars())


def revisions(service: str) -> list[str]:
    """The service's revisions, oldest first, named by its scripts' file names."""
    scripts = resources.files(service).joinpath("migrations").joinpath("versions")
    found = sorted(
        entry.name.partition("_")[0] for entry in scripts.iterdir() if entry.name.endswith(".py")
    )
    if not found:
        raise SchemaError(f"the {service} package has no migration scripts: reinstall it")
    return found


def upgrade(
    engine: Engine, service: str, tables: Collection[str], target: str = "head"
) -> tuple[set[str], set[str]]:
    """Bring the service's schema to the newest revision (or to ``target``, for a test of one
    migration): (revisions before, after)."""
    from alembic import command

    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two upgrades at once (a job started twice, replicas): the second waits for the
            # first to commit, however long its migrations take (past the session's lock
            # timeout, shared.session_bounds, which its own statements keep), then finds
            # nothing to do. Released when the transaction ends.
            bound = connection.execute(text("SELECT current_setting('lock_timeout')")).scalar()
            connection.execute(text("SET LOCAL lock_timeout = 0"))
            connection.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:name))"),
                {"name": version_table(service)},
            )
            connection.execute(
                text("SELECT set_config('lock_timeout', :bound, true)"), {"bound": bound}
            )
        before = applied(connection, service)
        existing = set(inspect(connection).get_table_names())
        if not before and existing & set(tables):
            raise SchemaError(
                f"the {service} database has tables but no migration history: it was made "
                "before migrations existed; start from an empty database (for `hospiai dev`, "
                "delete its data directory)"
            )
        command.upgrade(_config(service, connection), target)
        return before, applied(connection, service)


def check(engine: Engine, service: str) -> None:
    """Raise SchemaError if the database is behind the code. A database ahead of the code (a
    revision this code does not know) is accepted, as during a rolling upgrade whose
    migrations ran before every old replica stopped."""
    known = revisions(service)
    with engine.connect() as connection:
        current = applied(connection, service)
    if current == {known[-1]}:
        log.debug("the %s database is at revision %s, as this code", service, known[-1])
        return
    if current - set(known):
        log.warning(
            "the %s database is at revision %s, newer than this code: carrying on",
            service, ", ".join(sorted(current)),
        )
        return
    raise SchemaError(
        f"the {service} database schema is behind the code (at revision "
        f"{', '.join(sorted(current)) or 'none'}, needs {known[-1]}): "
        f"run `{UPGRADE}`"
    )


def run_migrations() -> None:
    """The body of every service's ``env.py``: migrate the connection `upgrade` handed over."""
    from alembic import context

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
    from alembic import op

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

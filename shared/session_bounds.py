"""Each PostgreSQL session's bounds on waiting, as SQLite's busy timeout bounds its waits: the
engine's sessions (shared.database) and the event loop's pipelined one (shared.pipeline).

A statement kept waiting for a lock longer than LOCK_TIMEOUT fails (LockNotAvailable), where
it would have waited for as long as the lock was held, and every refresh queued behind it (one
writer commits the rotations). And a session of ours idle inside a transaction for
IDLE_IN_TRANSACTION (a replica frozen or cut off in the middle of one) is ended by the server,
with its locks: the server would otherwise keep them until TCP gave up on the replica, hours
later. None of ours stays idle in a transaction for more than a moment. Each is set only where
nothing else sets it (the server's configuration, the role or the database, PGOPTIONS, the
URL's ``options``): whoever set one meant it."""

from __future__ import annotations

LOCK_TIMEOUT = "30s"
IDLE_IN_TRANSACTION = "60s"


def statement() -> tuple[str, tuple[str, str]]:
    """The statement (and its parameters) that gives a new session its bounds."""
    return (
        "SELECT set_config(name, CASE name WHEN 'lock_timeout' THEN %s ELSE %s END, false) "
        "FROM pg_settings WHERE source = 'default' "
        "AND name IN ('lock_timeout', 'idle_in_transaction_session_timeout')",
        (LOCK_TIMEOUT, IDLE_IN_TRANSACTION),
    )

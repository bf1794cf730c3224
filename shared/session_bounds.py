"""Each PostgreSQL session's bounds on waiting, as SQLite's busy timeout bounds its waits: the
engine's sessions (shared.database) and the event loop's pipelined one (shared.pipeline).

A statement kept waiting for a lock longer than LOCK_TIMEOUT fails (LockNotAvailable), where
it would have waited for as long as the lock was held, and every refresh queued behind it (one
writer commits the rotations). And a session of ours idle inside a transaction for
IDLE_IN_TRANSACTION (a replica frozen or cut off in the middle of one) is ended by the server,
with its locks: the server would otherwise keep them until TCP gave up on the replica, hours
later. None of ours stays idle in a transaction for more than a moment. Each is set only where
nothing else sets it (the server's configuration, the role or the database, PGOPTIONS, the
URL's ``options``): whoever set one meant it.

TCP gets bounds of its own (libpq's connection parameters, in the URL both kinds of session
are opened from), for a database host that goes silent: a network partition, a host frozen or
powered off, where no reset ever comes. The system's defaults wait two hours before probing an
idle connection, about fifteen minutes for data never acknowledged and two minutes for a
connection to open, and a request waits behind its query all that time. With TCP, the query
fails within about 70 s of its host's silence, as on any lost connection. A value of the URL's
own wins, and so does PGCONNECT_TIMEOUT."""

from __future__ import annotations

import os

from sqlalchemy import URL

LOCK_TIMEOUT = "30s"
IDLE_IN_TRANSACTION = "60s"
# A probe after 30 s without traffic, then every 10 s; dropped when data sent (a probe
# included) is not acknowledged for 60 s (tcp_user_timeout, in milliseconds: on Linux it also
# decides when unanswered probes end the connection, keepalives_count counting elsewhere); and
# a new connection given up after 10 s, unless PGCONNECT_TIMEOUT says otherwise. None limits
# how long a query may run: its host answers the probes.
TCP = {"keepalives": "1", "keepalives_idle": "30", "keepalives_interval": "10",
       "keepalives_count": "3", "tcp_user_timeout": "60000", "connect_timeout": "10"}
# libpq's environment variable for one of them, which the URL would override.
_ENVIRONMENT = {"connect_timeout": "PGCONNECT_TIMEOUT"}


def with_tcp_bounds(url: URL) -> URL:
    """``url`` with each of TCP's bounds that neither it nor libpq's environment sets, for
    the drivers built on libpq."""
    if url.get_driver_name() not in {"psycopg", "psycopg2"}:
        return url
    return url.update_query_dict({
        name: value for name, value in TCP.items()
        if name not in url.query and _ENVIRONMENT.get(name, "") not in os.environ
    })


def statement() -> tuple[str, tuple[str, str]]:
    """The statement (and its parameters) that gives a new session its bounds."""
    return (
        "SELECT set_config(name, CASE name WHEN 'lock_timeout' THEN %s ELSE %s END, false) "
        "FROM pg_settings WHERE source = 'default' "
        "AND name IN ('lock_timeout', 'idle_in_transaction_session_timeout')",
        (LOCK_TIMEOUT, IDLE_IN_TRANSACTION),
    )

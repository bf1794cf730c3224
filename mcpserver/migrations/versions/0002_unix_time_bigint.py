"""Unix-seconds times as BIGINT on PostgreSQL, whose INTEGER is 32 bits: it overflows in
January 2038, and on any slot or status time set past it before then. SQLite's INTEGER
already holds 64 bits: nothing changes there.

On PostgreSQL each table is rewritten once, under a lock that holds its readers and writers
until it is done.

Revision ID: 0002
"""

from shared.migrations import widen_to_bigint

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TIME_COLUMNS = {
    "hospitalstatus": ("updated_at",),
    "slot": ("starts_at",),
    "appointment": ("created_at", "cancelled_at"),
}


def upgrade() -> None:
    widen_to_bigint(TIME_COLUMNS)

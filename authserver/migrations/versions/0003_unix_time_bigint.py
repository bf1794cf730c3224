"""Unix-seconds times as BIGINT on PostgreSQL, whose INTEGER is 32 bits: it overflows in
January 2038, and on any expiry set past it before then. Audit event ids too, with their
sequence: a busy server writes 2**31 events in months. SQLite's INTEGER already holds 64
bits: nothing changes there.

On PostgreSQL each table is rewritten once, under a lock that holds its readers and writers
until it is done: on a large audit log, run it when traffic is low.

Revision ID: 0003
"""

from shared.migrations import widen_to_bigint

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = {
    "account": ("created_at",),
    "client": ("metadata_expires_at", "created_at", "last_used_at"),
    "resourceserver": ("created_at",),
    "interaction": ("created_at", "expires_at", "completed_at"),
    "grant": ("created_at", "last_used_at", "revoked_at"),
    "authorizationcode": ("created_at", "expires_at", "consumed_at"),
    "accesstoken": ("issued_at", "expires_at", "revoked_at"),
    "refreshtoken": ("issued_at", "expires_at", "spent_at"),
    "auditevent": ("at", "id"),
}


def upgrade() -> None:
    widen_to_bigint(COLUMNS)

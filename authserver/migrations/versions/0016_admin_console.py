"""The admin console at scale: a rotated resource-server secret that keeps working for a grace
period, and indexes for the console's bounded queries: the dashboard's daily counts of one kind
of audit event and its count of accounts per role, and the grants list newest first.

Revision ID: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


# 64 bits on PostgreSQL (a Unix time); SQLite's INTEGER already is.
INT64 = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("resourceserver") as batch:
        batch.add_column(sa.Column("previous_secret_hash", sa.String(), nullable=True))
        batch.add_column(sa.Column("previous_secret_until", INT64, nullable=True))
    op.create_index("ix_auditevent_event_at", "auditevent", ["event", "at"], unique=False)
    op.create_index(op.f("ix_account_role"), "account", ["role"], unique=False)
    op.create_index("ix_grant_created_at_id", "grant", ["created_at", "id"], unique=False)

"""Server-side login sessions: one row per logged-in browser, found by the hash of the secret
its cookie carries.

Revision ID: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


# 64 bits on PostgreSQL (a Unix time); SQLite's INTEGER already is.
INT64 = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table("accountsession",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("secret_hash", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(), nullable=False),
        sa.Column("created_at", INT64, nullable=False),
        sa.Column("auth_time", INT64, nullable=False),
        sa.Column("last_seen_at", INT64, nullable=False),
        sa.Column("expires_at", INT64, nullable=False),
        sa.Column("user_agent", sa.String(), nullable=False),
        sa.Column("network", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id")
    )
    op.create_index(op.f("ix_accountsession_secret_hash"), "accountsession", ["secret_hash"],
                    unique=True)
    op.create_index(op.f("ix_accountsession_account_id"), "accountsession", ["account_id"],
                    unique=False)
    op.create_index(op.f("ix_accountsession_expires_at"), "accountsession", ["expires_at"],
                    unique=False)

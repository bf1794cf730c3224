"""Login throttling: failed (and running) login attempts, by email key and by network.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


# 64 bits on PostgreSQL (a row id and a Unix time); SQLite's INTEGER already is.
INT64 = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table("loginattempt",
        sa.Column("id", INT64, nullable=False),
        sa.Column("at", INT64, nullable=False),
        sa.Column("account_key", sa.String(), nullable=False),
        sa.Column("network", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id")
    )
    op.create_index(op.f("ix_loginattempt_at"), "loginattempt", ["at"], unique=False)
    op.create_index("ix_loginattempt_account_key_at", "loginattempt", ["account_key", "at"],
                    unique=False)
    op.create_index("ix_loginattempt_network_at", "loginattempt", ["network", "at"],
                    unique=False)

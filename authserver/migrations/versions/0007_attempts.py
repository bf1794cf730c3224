"""Registration throttling: the login attempts table becomes the attempts table, whose rows
have a kind ("login" or "registration"), and registrations have no email key.

Revision ID: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


# 64 bits on PostgreSQL (a row id and a Unix time); SQLite's INTEGER already is.
INT64 = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table("attempt",
        sa.Column("id", INT64, nullable=False),
        sa.Column("at", INT64, nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("account_key", sa.String(), nullable=True),
        sa.Column("network", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id")
    )
    op.create_index(op.f("ix_attempt_at"), "attempt", ["at"], unique=False)
    op.create_index("ix_attempt_account_key_at", "attempt", ["account_key", "at"], unique=False)
    op.create_index("ix_attempt_kind_network_at", "attempt", ["kind", "network", "at"],
                    unique=False)
    # The failures inside the window still count after the upgrade. New ids: copied ones would
    # leave PostgreSQL's sequence behind them.
    op.execute(
        "INSERT INTO attempt (at, kind, account_key, network)"
        " SELECT at, 'login', account_key, network FROM loginattempt"
    )
    op.drop_table("loginattempt")

"""One-time codes (TOTP) and recovery codes as a second factor, and how each login session,
interaction and grant was authenticated (amr, auth_time).

Revision ID: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


# 64 bits on PostgreSQL (a Unix time); SQLite's INTEGER already is.
INT64 = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table("onetimecodefactor",
        sa.Column("account_id", sa.String(), nullable=False),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", INT64, nullable=False),
        sa.Column("confirmed_at", INT64, nullable=True),
        sa.Column("last_step", INT64, nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("account_id"),
    )
    op.create_table("recoverycode",
        sa.Column("code_hash", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(), nullable=False),
        sa.Column("created_at", INT64, nullable=False),
        sa.Column("used_at", INT64, nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("code_hash"),
    )
    op.create_index(op.f("ix_recoverycode_account_id"), "recoverycode", ["account_id"],
                    unique=False)
    with op.batch_alter_table("accountsession") as batch:
        batch.add_column(sa.Column("amr", sa.String(), server_default="pwd", nullable=False))
        batch.add_column(sa.Column("second_factor_due", sa.Boolean(), server_default=sa.false(),
                                   nullable=False))

    for table in ("interaction", "grant"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("amr", sa.String(), nullable=True))
            batch.add_column(sa.Column("auth_time", INT64, nullable=True))

"""Medical records (issue 16 item 3): consultations of attended appointments, and what the
hospital said when it marked an appointment.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


# 64 bits on PostgreSQL (a Unix time); SQLite's INTEGER already is.
INT64 = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("appointment", sa.Column("status_reason", sa.String(), nullable=True))
    op.add_column("appointment", sa.Column("status_changed_at", INT64, nullable=True))
    op.add_column("appointment", sa.Column("status_changed_by", sa.String(), nullable=True))
    op.create_table("consultation",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("appointment_id", sa.String(), nullable=False),
        sa.Column("account_sub", sa.String(), nullable=False),
        sa.Column("hospital_id", sa.String(), nullable=False),
        sa.Column("note", sa.String(), nullable=False),
        sa.Column("created_at", INT64, nullable=False),
        sa.Column("updated_at", INT64, nullable=False),
        sa.Column("written_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointment.id"]),
        sa.ForeignKeyConstraint(["hospital_id"], ["hospital.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("appointment_id")
    )
    op.create_index(op.f("ix_consultation_account_sub"), "consultation", ["account_sub"],
                    unique=False)
    op.create_index(op.f("ix_consultation_hospital_id"), "consultation", ["hospital_id"],
                    unique=False)

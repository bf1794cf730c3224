"""The MCP server's tables as of the first release.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("hospital",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("city", sa.String(), nullable=False),
        sa.Column("address", sa.String(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("phone", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id")
    )
    op.create_index(op.f("ix_hospital_city"), "hospital", ["city"], unique=False)
    op.create_index(op.f("ix_hospital_latitude"), "hospital", ["latitude"], unique=False)
    op.create_table("doctor",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("specialty", sa.String(), nullable=False),
        sa.Column("hospital_id", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["hospital_id"], ["hospital.id"]),
        sa.PrimaryKeyConstraint("id")
    )
    op.create_index(op.f("ix_doctor_hospital_id"), "doctor", ["hospital_id"], unique=False)
    op.create_index(op.f("ix_doctor_specialty"), "doctor", ["specialty"], unique=False)
    op.create_table("hospitalstatus",
        sa.Column("hospital_id", sa.String(), nullable=False),
        sa.Column("beds_available", sa.Integer(), nullable=False),
        sa.Column("icu_beds_available", sa.Integer(), nullable=False),
        sa.Column("ventilators_available", sa.Integer(), nullable=False),
        sa.Column("emergency_wait_minutes", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["hospital_id"], ["hospital.id"]),
        sa.PrimaryKeyConstraint("hospital_id")
    )
    op.create_table("slot",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("doctor_id", sa.String(), nullable=False),
        sa.Column("hospital_id", sa.String(), nullable=False),
        sa.Column("starts_at", sa.Integer(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["doctor_id"], ["doctor.id"]),
        sa.ForeignKeyConstraint(["hospital_id"], ["hospital.id"]),
        sa.PrimaryKeyConstraint("id")
    )
    op.create_index(op.f("ix_slot_appointment_id"), "slot", ["appointment_id"], unique=False)
    op.create_index(op.f("ix_slot_doctor_id"), "slot", ["doctor_id"], unique=False)
    op.create_index(op.f("ix_slot_hospital_id"), "slot", ["hospital_id"], unique=False)
    op.create_index(op.f("ix_slot_starts_at"), "slot", ["starts_at"], unique=False)
    op.create_table("appointment",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("account_sub", sa.String(), nullable=False),
        sa.Column("slot_id", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("cancelled_at", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["slot_id"], ["slot.id"]),
        sa.PrimaryKeyConstraint("id")
    )
    op.create_index(
        op.f("ix_appointment_account_sub"), "appointment", ["account_sub"], unique=False
    )
    op.create_index(op.f("ix_appointment_slot_id"), "appointment", ["slot_id"], unique=False)

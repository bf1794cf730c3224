"""The hospital desk's schedule (issue 16 item 2): slots the hospital closed, and the patient's
name on an appointment for the desk's list.

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


# 64 bits on PostgreSQL (a Unix time); SQLite's INTEGER already is.
INT64 = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("slot", sa.Column("closed_at", INT64, nullable=True))
    op.add_column("appointment", sa.Column("patient_name", sa.String(), nullable=True))

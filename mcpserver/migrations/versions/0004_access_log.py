"""The health-data access log (issue 16 item 4): one row per tool call and patient touched.

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
    op.create_table("dataaccess",
        sa.Column("id", INT64, nullable=False),
        sa.Column("at", INT64, nullable=False),
        sa.Column("actor_sub", sa.String(), nullable=False),
        sa.Column("actor_name", sa.String(), nullable=False),
        sa.Column("actor_role", sa.String(), nullable=False),
        sa.Column("client_id", sa.String(), nullable=False),
        sa.Column("tool", sa.String(), nullable=False),
        sa.Column("subject_sub", sa.String(), nullable=True),
        sa.Column("hospital_id", sa.String(), nullable=True),
        sa.Column("ids", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id")
    )
    for column in ("at", "actor_sub", "subject_sub", "hospital_id"):
        op.create_index(op.f(f"ix_dataaccess_{column}"), "dataaccess", [column], unique=False)

"""The security event feed (RFC 8417 SETs polled per RFC 8936): one row per revocation,
written with it.

Revision ID: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0016"
branch_labels = None
depends_on = None


# 64 bits on PostgreSQL (a Unix time, a row id); SQLite's INTEGER already is.
INT64 = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table("securityevent",
        sa.Column("id", INT64, nullable=False),
        sa.Column("at", INT64, nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("resource", sa.String(), nullable=True),
        sa.Column("account_id", sa.String(), nullable=True),
        sa.Column("client_id", sa.String(), nullable=True),
        sa.Column("token_sha256", sa.String(), nullable=True),
        sa.Column("claims", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_securityevent_at"), "securityevent", ["at"], unique=False)

"""private_key_jwt: the jtis of accepted client assertions, single use (RFC 7523 section 3).

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


# 64 bits on PostgreSQL (a Unix time); SQLite's INTEGER already is.
INT64 = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table("usedassertion",
        sa.Column("client_id", sa.String(), nullable=False),
        sa.Column("jti", sa.String(), nullable=False),
        sa.Column("expires_at", INT64, nullable=False),
        sa.PrimaryKeyConstraint("client_id", "jti")
    )
    op.create_index(op.f("ix_usedassertion_expires_at"), "usedassertion", ["expires_at"],
                    unique=False)

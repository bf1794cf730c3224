"""Passkeys (WebAuthn) as a way to sign in and as a second factor, and the single use of their
challenges.

Revision ID: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


# 64 bits on PostgreSQL (a Unix time, a 32-bit unsigned counter); SQLite's INTEGER already is.
INT64 = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table("passkey",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(), nullable=False),
        sa.Column("credential_id", sa.LargeBinary(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", INT64, nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("device_type", sa.String(), nullable=False),
        sa.Column("created_at", INT64, nullable=False),
        sa.Column("last_used_at", INT64, nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("credential_id"),
    )
    op.create_index(op.f("ix_passkey_account_id"), "passkey", ["account_id"], unique=False)
    op.create_table("usedchallenge",
        sa.Column("challenge_hash", sa.String(), nullable=False),
        sa.Column("expires_at", INT64, nullable=False),
        sa.PrimaryKeyConstraint("challenge_hash"),
    )
    op.create_index(op.f("ix_usedchallenge_expires_at"), "usedchallenge", ["expires_at"],
                    unique=False)


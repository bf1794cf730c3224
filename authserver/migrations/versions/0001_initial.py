"""The authorization server's tables as of the first release, and the built-in client that
personal access tokens are issued to.

Revision ID: 0001
"""

import time

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("accesstoken",
        sa.Column("token_hash", sa.String(), nullable=False),
        sa.Column("grant_id", sa.String(), nullable=False),
        sa.Column("client_id", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("resource", sa.String(), nullable=False),
        sa.Column("issued_at", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Integer(), nullable=False),
        sa.Column("revoked_at", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("token_hash")
    )
    op.create_index(op.f("ix_accesstoken_grant_id"), "accesstoken", ["grant_id"], unique=False)
    op.create_table("account",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("email_key", sa.String(), nullable=False),
        sa.Column("password_hash", sa.String(), nullable=False),
        sa.Column("given_name", sa.String(), nullable=False),
        sa.Column("family_name", sa.String(), nullable=False),
        sa.Column("phone", sa.String(), nullable=True),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id")
    )
    op.create_index(op.f("ix_account_email_key"), "account", ["email_key"], unique=True)
    op.create_table("auditevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=True),
        sa.Column("client_id", sa.String(), nullable=True),
        sa.Column("ip", sa.String(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id")
    )
    op.create_index(op.f("ix_auditevent_actor"), "auditevent", ["actor"], unique=False)
    op.create_index(op.f("ix_auditevent_at"), "auditevent", ["at"], unique=False)
    op.create_index(op.f("ix_auditevent_client_id"), "auditevent", ["client_id"], unique=False)
    op.create_index(op.f("ix_auditevent_event"), "auditevent", ["event"], unique=False)
    op.create_table("authorizationcode",
        sa.Column("code_hash", sa.String(), nullable=False),
        sa.Column("grant_id", sa.String(), nullable=False),
        sa.Column("client_id", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(), nullable=False),
        sa.Column("redirect_uri", sa.String(), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("resource", sa.String(), nullable=False),
        sa.Column("code_challenge", sa.String(), nullable=False),
        sa.Column("code_challenge_method", sa.String(), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Integer(), nullable=False),
        sa.Column("consumed_at", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("code_hash")
    )
    op.create_index(
        op.f("ix_authorizationcode_grant_id"), "authorizationcode", ["grant_id"], unique=False
    )
    op.create_table("client",
        sa.Column("client_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("client_name", sa.String(), nullable=False),
        sa.Column("client_secret_hash", sa.String(), nullable=True),
        sa.Column("token_endpoint_auth_method", sa.String(), nullable=False),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("grant_types", sa.JSON(), nullable=False),
        sa.Column("response_types", sa.JSON(), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("extra_metadata", sa.JSON(), nullable=False),
        sa.Column("registration_access_token_hash", sa.String(), nullable=True),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("approved_scope", sa.String(), nullable=False),
        sa.Column("metadata_expires_at", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("last_used_at", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("client_id")
    )
    op.create_index(
        op.f("ix_client_registration_access_token_hash"),
        "client",
        ["registration_access_token_hash"],
        unique=False,
    )
    op.create_table("grant",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(), nullable=False),
        sa.Column("client_id", sa.String(), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("resource", sa.String(), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("last_used_at", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("token_prefix", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id")
    )
    op.create_index(op.f("ix_grant_account_id"), "grant", ["account_id"], unique=False)
    op.create_index(op.f("ix_grant_client_id"), "grant", ["client_id"], unique=False)
    op.create_table("interaction",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("client_id", sa.String(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("resource", sa.String(), nullable=False),
        sa.Column("browser_binding", sa.String(), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(), nullable=True),
        sa.Column("decision", sa.String(), nullable=True),
        sa.Column("completed_at", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id")
    )
    op.create_table("refreshtoken",
        sa.Column("token_hash", sa.String(), nullable=False),
        sa.Column("grant_id", sa.String(), nullable=False),
        sa.Column("client_id", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("resource", sa.String(), nullable=False),
        sa.Column("issued_at", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Integer(), nullable=False),
        sa.Column("spent_at", sa.Integer(), nullable=True),
        sa.Column("replay", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("token_hash")
    )
    op.create_index(op.f("ix_refreshtoken_grant_id"), "refreshtoken", ["grant_id"], unique=False)
    op.create_table("resourceserver",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("resource", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("secret_hash", sa.String(), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("resource")
    )
    client = sa.table(
        "client",
        *(sa.column(name) for name in ("client_id", "kind", "client_name", "scope",
                                       "token_endpoint_auth_method", "blocked", "approved_scope",
                                       "created_at")),
        *(sa.column(name, sa.JSON) for name in ("redirect_uris", "grant_types",
                                                "response_types", "extra_metadata")),
    )
    # No redirect URI and no grant type: it can never be used at /authorize or /token.
    op.bulk_insert(client, [{
        "client_id": "hospiai_personal_tokens",
        "kind": "personal",
        "client_name": "Personal access tokens",
        "scope": "",
        "token_endpoint_auth_method": "none",
        "blocked": False,
        "approved_scope": "",
        "created_at": int(time.time()),
        "redirect_uris": [],
        "grant_types": [],
        "response_types": [],
        "extra_metadata": {},
    }])

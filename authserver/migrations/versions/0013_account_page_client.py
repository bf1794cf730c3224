"""The built-in client the account page reads the health-data access log with: the MCP server
is asked with a one-minute token of the signed-in user's, issued to this client.

Revision ID: 0013
"""

import time

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0009"
branch_labels = None
depends_on = None

ACCOUNT_PAGE_CLIENT_ID = "hospiai_account_page"


def upgrade() -> None:
    client = sa.table(
        "client",
        *(sa.column(name) for name in ("client_id", "kind", "client_name", "scope",
                                       "token_endpoint_auth_method", "blocked", "approved_scope",
                                       "created_at")),
        *(sa.column(name, sa.JSON) for name in ("redirect_uris", "grant_types",
                                                "response_types", "extra_metadata")),
    )
    # Like the personal token client: no redirect URI and no grant type, so it can never be
    # used at /authorize or /token.
    op.bulk_insert(client, [{
        "client_id": ACCOUNT_PAGE_CLIENT_ID,
        "kind": "personal",
        "client_name": "Your HospiAI account page",
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


"""The account page's grants carry no name of their own: they were stored with the English
"Account page: data access", which the admin console showed as it is on a French page, where
a nameless grant is named by its built-in client in the page's language (web.labels).

Revision ID: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

ACCOUNT_PAGE_CLIENT_ID = "hospiai_account_page"
_GRANT = sa.table("grant", sa.column("client_id"), sa.column("name"))


def upgrade() -> None:
    op.execute(
        _GRANT.update().where(_GRANT.c.client_id == ACCOUNT_PAGE_CLIENT_ID).values(name=None)
    )


def downgrade() -> None:
    op.execute(
        _GRANT.update()
        .where(_GRANT.c.client_id == ACCOUNT_PAGE_CLIENT_ID)
        .values(name="Account page: data access")
    )

"""The prompt decision on the interaction row: the pages read it instead of parsing `prompt`.

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for name in ("force_login", "force_consent"):
        op.add_column(
            "interaction",
            sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.false()),
        )

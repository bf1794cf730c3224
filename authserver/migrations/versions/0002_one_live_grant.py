"""At most one live grant per account, client and resource (personal access tokens aside, one
grant per token): a unique partial index, so two approvals at once widen one grant instead of
making two (authserver.store.Store.issue_code).

A database may already hold such twins. Each set is merged into its oldest grant, so nothing
the user has is lost: the codes and tokens of the others move onto it and keep working (a
connected assistant stays connected), it holds every scope any of them held (each was allowed
by the user) and their latest use. The others are kept as revoked, empty rows, because audit
events name them by id.

Revision ID: 0002
"""

import time

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# The values as of this revision; a migration does not import the code that may change later.
PERSONAL_CLIENT_ID = "hospiai_personal_tokens"
LIVE_REMEMBERED_GRANT = sa.text(f"revoked_at IS NULL AND client_id <> '{PERSONAL_CLIENT_ID}'")
ISSUED_UNDER_A_GRANT = ("authorizationcode", "accesstoken", "refreshtoken")

grant = sa.table(
    "grant",
    *(
        sa.column(name, sa.String)
        for name in ("id", "account_id", "client_id", "resource", "scope")
    ),
    *(sa.column(name, sa.Integer) for name in ("created_at", "last_used_at", "revoked_at")),
)
KEY = (grant.c.account_id, grant.c.client_id, grant.c.resource)


def upgrade() -> None:
    merge_live_twins(op.get_bind(), int(time.time()))
    op.create_index(
        "ix_grant_live_key", "grant", ["account_id", "client_id", "resource"], unique=True,
        sqlite_where=LIVE_REMEMBERED_GRANT, postgresql_where=LIVE_REMEMBERED_GRANT,
    )


def merge_live_twins(connection: sa.Connection, now: int) -> None:
    live = sa.and_(grant.c.revoked_at.is_(None), grant.c.client_id != PERSONAL_CLIENT_ID)
    twinned = connection.execute(
        sa.select(*KEY).where(live).group_by(*KEY).having(sa.func.count() > 1)
    ).all()
    for account_id, client_id, resource in twinned:
        keeper, *twins = connection.execute(
            sa.select(grant)
            .where(live, *(column == value for column, value in zip(
                KEY, (account_id, client_id, resource), strict=True)))
            .order_by(grant.c.created_at, grant.c.id)
        ).all()
        twin_ids = [twin.id for twin in twins]
        for name in ISSUED_UNDER_A_GRANT:
            issued = sa.table(name, sa.column("grant_id", sa.String))
            connection.execute(
                issued.update()
                .where(issued.c.grant_id.in_(twin_ids))
                .values(grant_id=keeper.id)
            )
        # The keeper's scopes first, then what each twin adds, in the order they came.
        names = dict.fromkeys(name for row in (keeper, *twins) for name in row.scope.split())
        uses = [row.last_used_at for row in (keeper, *twins) if row.last_used_at is not None]
        connection.execute(
            grant.update()
            .where(grant.c.id == keeper.id)
            .values(scope=" ".join(names), last_used_at=max(uses, default=None))
        )
        connection.execute(
            grant.update().where(grant.c.id.in_(twin_ids)).values(revoked_at=now)
        )

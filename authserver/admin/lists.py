"""The admin console's lists: clients (with the resource servers), accounts, grants and the
audit log, each a page at a time and searchable (admin.listing reads the query)."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from authserver.admin.access import view
from authserver.admin.listing import PAGE_SIZE, listing, search_text
from authserver.context import Context
from authserver.models import ROLES, AuditEvent
from authserver.web.pages import render, whole_number

# Audit event ids are 64 bits (shared.database.ROW_ID): a page cursor beyond means the newest.
MAX_EVENT_ID = 2**63 - 1


@view
async def home(request: Request, context: Context) -> Response:
    store, wanted = context.store, listing(request)
    clients = await run_in_threadpool(
        lambda: store.clients(q=wanted.q, offset=wanted.offset, limit=wanted.limit)
    )
    return render(
        request,
        "admin/home.html",
        clients=wanted.rows(clients),
        query=wanted.q,
        resource_servers=await run_in_threadpool(store.resource_servers),
        now=context.clock(),
    )


@view
async def accounts(request: Request, context: Context) -> Response:
    store, wanted = context.store, listing(request)
    found = await run_in_threadpool(
        lambda: store.search_accounts(wanted.q, offset=wanted.offset, limit=wanted.limit)
    )
    page = wanted.rows(found)
    ids = [account.id for account in page.rows]
    apps = await run_in_threadpool(store.with_one_time_codes, ids)
    keys = await run_in_threadpool(store.with_passkeys, ids)
    return render(
        request, "admin/accounts.html", accounts=page, query=wanted.q, roles=ROLES,
        with_factors=apps, passkey_counts=keys,
    )


@view
async def grants(request: Request, context: Context) -> Response:
    """Every live grant, or one client's or one account's (the links of their pages)."""
    store, wanted = context.store, listing(request, "client_id", "account_id")
    of = dict(wanted.fields)
    found = await run_in_threadpool(lambda: store.live_grants(
        client_id=of["client_id"] or None, account_id=of["account_id"] or None, q=wanted.q,
        offset=wanted.offset, limit=wanted.limit,
    ))
    return render(
        request, "admin/grants.html", grants=wanted.rows(found), query=wanted.q, of=of,
        back=wanted.link(wanted.page),
    )


@view
async def audit(request: Request, context: Context) -> Response:
    filters = {key: search_text(request, key) for key in ("event", "actor", "client_id")}
    actor = await _actor_id(context, filters["actor"])
    before = whole_number(request.query_params.get("before"))
    # Beyond any event id means "from the newest", not a database error.
    cursor = None if before is None else min(before, MAX_EVENT_ID)
    events = await run_in_threadpool(lambda: context.store.audit_events(
        event=filters["event"], actor=actor, client_id=filters["client_id"], before=cursor,
        limit=PAGE_SIZE,
    ))
    emails = await run_in_threadpool(
        context.store.account_emails, {event.actor for event in events if event.actor}
    )
    kept = {key: value for key, value in filters.items() if value}
    return render(
        request, "admin/audit.html", events=events, emails=emails, filters=filters,
        following=_following(events, kept),
        newest=None if before is None else f"/admin/audit?{urlencode(kept)}",
    )


async def _actor_id(context: Context, actor: str) -> str:
    """An admin knows people by their email; the log records their account id."""
    if "@" not in actor:
        return actor
    found = await run_in_threadpool(context.store.account_by_email, actor)
    return found.id if found else actor  # an email is no account id: nothing matches


def _following(events: list[AuditEvent], kept: dict[str, str]) -> str | None:
    """The next page's link: older events, from the last one shown; none on a short page."""
    if len(events) == PAGE_SIZE and events[-1].id is not None:
        return "/admin/audit?" + urlencode({**kept, "before": events[-1].id})
    return None

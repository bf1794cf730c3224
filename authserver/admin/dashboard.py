"""The admin dashboard: how many accounts, clients and live grants there are, and what happened
on each of the last DAYS days of the hospital's calendar (Europe/Paris), drawn on the server
as SVG charts (the CSP allows no script), each with its numbers as a table too."""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from authserver.admin.access import view
from authserver.context import Context
from authserver.store.statistics import HOUR
from authserver.web.pages import render
from shared.clock import PARIS

DAYS = 14
# Each chart: the audit events it adds up per day.
SERIES = {
    "tokens": ("token.issued", "token.refreshed"),
    "logins": ("login.succeeded",),
    "failed_logins": ("login.failed",),
    "throttling": ("login.throttled", "second_factor.throttled"),
}


@dataclass(frozen=True)
class Day:
    date: datetime.date
    count: int


def last_days(now: int) -> list[datetime.date]:
    """The last DAYS days in Paris, today last."""
    today = datetime.datetime.fromtimestamp(now, PARIS).date()
    return [today - datetime.timedelta(days=back) for back in range(DAYS - 1, -1, -1)]


def per_day(
    hourly: list[tuple[str, int, int]], days: list[datetime.date]
) -> dict[str, list[Day]]:
    """Each chart's count on each day, from the store's hourly counts: Paris offsets are whole
    hours, so every hour lies in one Paris day."""
    chart_of = {event: name for name, events in SERIES.items() for event in events}
    counts: dict[str, Counter[datetime.date]] = {name: Counter() for name in SERIES}
    for event, hour, count in hourly:
        counts[chart_of[event]][datetime.datetime.fromtimestamp(hour * HOUR, PARIS).date()] += count
    return {name: [Day(day, counts[name][day]) for day in days] for name in SERIES}


@view
async def dashboard(request: Request, context: Context) -> Response:
    store, days = context.store, last_days(context.clock())
    since = int(datetime.datetime.combine(days[0], datetime.time(), PARIS).timestamp())
    events = tuple(event for series in SERIES.values() for event in series)
    hourly = await run_in_threadpool(store.hourly_events, events, since)
    return render(
        request,
        "admin/dashboard.html",
        accounts=await run_in_threadpool(store.accounts_by_role),
        clients=await run_in_threadpool(store.clients_by_kind),
        live_grants=await run_in_threadpool(store.live_grant_count),
        charts=per_day(hourly, days),
        days=DAYS,
    )

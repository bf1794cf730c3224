"""The admin dashboard (issue 17 item 3): counts of accounts, clients by kind and live grants,
and per day of the hospital's calendar (Europe/Paris, across a change of its offset) the tokens
issued, logins, failed logins and throttling events, drawn as SVG with the numbers in words."""

from __future__ import annotations

import datetime
import re

from authserver.models import AuditEvent
from tests.databases import both_backends
from tests.flow import logged_in, tokens_for
from tests.harness import AuthServer

pytestmark = both_backends


def _utc(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> int:
    return int(
        datetime.datetime(year, month, day, hour, minute, second, tzinfo=datetime.UTC).timestamp()
    )


def _desc(page: str, chart: str) -> str:
    found = re.search(rf'<desc id="{chart}-desc">([^<]*)</desc>', page)
    assert found, page
    return found.group(1)


def test_the_dashboard_counts_per_paris_day(auth_server: AuthServer) -> None:
    # The morning after summer time ended (25 October 2026, 03:00 CEST became 02:00 CET).
    auth_server.clock.frozen_at = _utc(2026, 10, 26, 9, 0, 0)
    patient = auth_server.account()
    auth_server.account("staff")
    admin = auth_server.account("admin")
    tokens_for(auth_server, auth_server.client(public=True, name="Le Chat").id, patient.email)
    auth_server.client(name="Ward tablet")
    events = [
        # 00:30 in Paris on 25 October (CEST, +2): that day, not the 24th.
        ("login.succeeded", _utc(2026, 10, 24, 22, 30)),
        # 00:30 in Paris on 26 October (CET, +1).
        ("login.succeeded", _utc(2026, 10, 25, 23, 30)),
        # 23:30 in Paris on 25 October (CET): the 25th.
        ("login.failed", _utc(2026, 10, 25, 22, 30)),
        ("login.failed", _utc(2026, 10, 25, 22, 40)),
        ("token.refreshed", _utc(2026, 10, 20, 12, 0)),
        ("login.throttled", _utc(2026, 10, 20, 12, 0)),
        ("second_factor.throttled", _utc(2026, 10, 20, 13, 0)),
        # Fifteen days ago, and an event no chart counts: neither is on the dashboard.
        ("login.failed", _utc(2026, 10, 11, 12, 0)),
        ("grant.revoked", _utc(2026, 10, 26, 8, 0)),
    ]
    for event, at in events:
        auth_server.store.record(AuditEvent(at=at, event=event, detail={}))
    with logged_in(auth_server, admin.email, "/admin") as browser:
        page = browser.get("/admin/dashboard").text
    logins = _desc(page, "chart-logins")
    assert logins.startswith("13 Oct: 0; ")
    # With the patient's login of the flow above and the admin's, this morning.
    assert logins.endswith("24 Oct: 0; 25 Oct: 1; 26 Oct: 3.")
    assert "25 Oct: 2; 26 Oct: 0." in _desc(page, "chart-failed-logins")
    assert "11 Oct" not in page and "12 Oct" not in page
    tokens = _desc(page, "chart-tokens")
    assert "20 Oct: 1;" in tokens and tokens.endswith("26 Oct: 1.")
    assert "20 Oct: 2;" in _desc(page, "chart-throttling")
    # Every chart has its numbers as a table too.
    assert page.count('role="img"') == 4 and page.count("<summary>The numbers</summary>") == 4
    assert "<td>Sun 25 Oct</td><td>2</td>" in page
    tiles = re.sub(r"\s+", " ", page)
    assert '<p class="big">3</p> <p class="muted">Patients 1 · Staff 1 · Admins 1</p>' in tiles
    assert "Pre-registered 2" in tiles and "Built in 2" in tiles
    assert "Dynamic registration 0" in tiles
    assert re.search(r'Live grants</h2> <p class="big">1</p>', tiles)

"""The admin console in a real browser (issue 17 item 3): the dashboard's SVG charts, a paged
and searched list, the audit log, each at phone and desktop width (tables become stacked cards
on a phone, and nothing is wider than the screen), and a rotation with a grace period."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from authserver.models import AuditEvent
from authserver.provisioning import create_account
from tests.browser.conftest import screenshot
from tests.flow import introspect, tokens_for
from tests.harness import PASSWORD, QUICK_HASH, AuthServer

WIDTHS = {"phone": 390, "desktop": 1280}


@pytest.fixture(params=list(WIDTHS))
def sized(request: pytest.FixtureRequest, chromium: Browser) -> Iterator[tuple[str, Page]]:
    """A fresh browser profile at phone or desktop width."""
    context = chromium.new_context(viewport={"width": WIDTHS[request.param], "height": 844})
    yield request.param, context.new_page()
    context.close()


def _admin(page: Page, server: AuthServer, path: str) -> None:
    page.goto(f"{server.url}{path}")
    page.get_by_label("Email").fill(server.account("admin").email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{server.url}{path}")


def _fits(page: Page) -> None:
    """Nothing sticks out sideways: no page-wide horizontal scrolling."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width  # type: ignore[index]


def _cards(page: Page, width: str) -> None:
    """At phone width a row is a card of labelled fields; at desktop width, a table row."""
    row = page.locator("table.cards tbody tr").first
    display = row.evaluate("element => getComputedStyle(element).display")
    assert display == ("block" if width == "phone" else "table-row"), display
    label = page.locator("table.cards td[data-label]").first.evaluate(
        "element => getComputedStyle(element, '::before').content"
    )
    assert label != "none" if width == "phone" else label == "none", label


def test_the_dashboard_draws_its_charts_with_names(
    sized: tuple[str, Page], auth_server: AuthServer, public_client: str
) -> None:
    width, page = sized
    tokens_for(auth_server, public_client, auth_server.account().email)
    for _ in range(3):
        auth_server.store.record(
            AuditEvent(at=auth_server.clock() - 86400, event="login.failed", detail={})
        )
    _admin(page, auth_server, "/admin/dashboard")
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    for name in ("Tokens issued (new and refreshed)", "Logins", "Failed logins",
                 "Throttled sign-in attempts"):
        expect(page.get_by_role("img", name=f"{name}, last 14 days", exact=True)).to_be_visible()
    chart = page.locator("#chart-failed-logins")
    expect(chart).to_contain_text("3 in 14 days")
    bars = chart.locator("rect.bar")
    assert bars.count() == 14
    heights = [float(bars.nth(n).get_attribute("height") or 0) for n in range(14)]
    assert heights[-2] > 0 and heights.count(0) == 13  # yesterday's bar only
    chart.get_by_text("The numbers").click()
    expect(chart.get_by_role("table")).to_be_visible()
    _fits(page)
    screenshot(page, f"admin-dashboard-{width}")


def test_a_searched_list_pages_and_becomes_cards_on_a_phone(
    sized: tuple[str, Page], auth_server: AuthServer
) -> None:
    width, page = sized
    for number in range(55):
        create_account(
            auth_server.store, email=f"nurse{number:02}@ward-c.test", password="x" * 12,
            given_name="Nina", family_name=f"Durand-{number:02}", now=auth_server.clock(),
            hasher=QUICK_HASH, role="staff" if number % 5 == 0 else "patient",
        )
    _admin(page, auth_server, "/admin/accounts")
    page.get_by_role("searchbox", name="Email or name").fill("ward-c")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("50 on page 1 matching “ward-c”")).to_be_visible()
    _cards(page, width)
    _fits(page)
    screenshot(page, f"admin-accounts-{width}")
    page.get_by_role("link", name="Next accounts").click()
    expect(page.get_by_text("5 on page 2 matching “ward-c”")).to_be_visible()
    expect(page.get_by_role("link", name="nurse54@ward-c.test")).to_be_visible()
    page.get_by_role("link", name="Previous accounts").click()
    expect(page.get_by_role("link", name="nurse00@ward-c.test")).to_be_visible()


def test_the_audit_log_shows_who_when_and_the_whole_detail(
    sized: tuple[str, Page], auth_server: AuthServer, public_client: str
) -> None:
    width, page = sized
    client_page = f"/admin/clients/{public_client}"
    long_value = "https://assistant.example/clients/" + "a-very-long-segment-" * 12
    auth_server.store.record(AuditEvent(
        at=auth_server.clock(), event="client.registered", client_id=public_client,
        detail={"client_uri": long_value, "scope": "read:data read:bookings offline_access"},
    ))
    _admin(page, auth_server, client_page)
    page.get_by_role("link", name="Block Test Client").click()
    page.get_by_role("button", name="Block Test Client").click()
    page.goto(f"{auth_server.url}/admin/audit")
    row = page.locator("tr", has_text="admin.client_blocked")
    expect(row.get_by_role("link", name="@hospiai.test")).to_be_visible()
    expect(row).to_contain_text(public_client)
    detail = page.locator("tr", has_text="client.registered").locator("td.detail")
    expect(detail).to_contain_text(long_value)  # whole
    # Wrapped, not cut: inside the table's visible box, which scrolls nothing sideways.
    box, table = detail.bounding_box(), page.locator("table.audit").bounding_box()
    assert box is not None and table is not None
    assert box["x"] + box["width"] <= table["x"] + table["width"] + 0.5, (box, table)
    assert page.locator("table.audit").evaluate("table => table.scrollWidth <= table.clientWidth")
    _cards(page, width)
    _fits(page)
    screenshot(page, f"admin-audit-{width}")


def test_rotating_with_a_grace_period_keeps_the_old_secret_working(
    page: Page, auth_server: AuthServer
) -> None:
    old = (auth_server.resource_server.id, auth_server.resource_server.secret or "")
    _admin(page, auth_server, "/admin")
    page.get_by_role("link", name="Rotate credentials MCP").click()
    expect(page.get_by_role("radio", name="Not at all: it stops at once")).to_be_checked()
    page.get_by_role("radio", name="1 hour").check()
    screenshot(page, "admin-confirm-rotate-grace")
    page.get_by_role("button", name="Rotate credentials MCP").click()
    expect(page.get_by_role("note")).to_contain_text("The previous secret keeps working until")
    new = page.get_by_label("Secret").input_value()
    assert introspect(auth_server, "hospiai_at_unknown", old).status_code == 200
    assert introspect(
        auth_server, "hospiai_at_unknown", (old[0], new)
    ).status_code == 200
    page.goto(f"{auth_server.url}/admin")
    expect(page.locator("tr", has_text="Rotate credentials MCP")).to_contain_text("works until")
    auth_server.clock.advance(3600)
    assert introspect(auth_server, "hospiai_at_unknown", old).status_code == 401

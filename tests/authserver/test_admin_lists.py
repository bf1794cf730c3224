"""The admin console's lists at scale (issue 17 item 3): clients, accounts, grants and the audit
log a page at a time, searchable with `q`, bounded; the audit log names actors by email, shows
Paris time and the whole detail; nonsense in the query is a page, never a server error."""

from __future__ import annotations

import datetime
import html
import re

import httpx

from authserver.models import PERSONAL_CLIENT_ID, AccessToken, AuditEvent, Grant
from authserver.provisioning import create_account
from tests.databases import both_backends
from tests.flow import logged_in, tokens_for
from tests.harness import QUICK_HASH, AuthServer

pytestmark = both_backends


def _pages(admin: httpx.Client, url: str, row: str) -> list[list[str]]:
    """Every page of a list from ``url`` on, following its "next" links: what ``row`` (a
    pattern with one group) finds on each."""
    pages = []
    while url:
        page = admin.get(url)
        assert page.status_code == 200, page.text
        pages.append(re.findall(row, page.text))
        found = re.search(r'<a href="([^"]+)" rel="next">', page.text)
        url = html.unescape(found.group(1)) if found else ""
    return pages


def _accounts(server: AuthServer, count: int, domain: str) -> list[str]:
    emails = [f"nurse{number:02}@{domain}" for number in range(count)]
    for email in emails:
        create_account(server.store, email=email, password="x" * 12, given_name="Nina",
                       family_name="Durand", now=server.clock(), hasher=QUICK_HASH)
    return emails


def test_accounts_page_through_a_search_in_email_order(auth_server: AuthServer) -> None:
    emails = _accounts(auth_server, 55, "ward-b.test")
    _accounts(auth_server, 3, "other.test")
    with logged_in(auth_server, auth_server.account("admin").email, "/admin") as admin:
        row = r'<a href="/admin/accounts/[^"]+">([^<]+@ward-b\.test)</a>'
        pages = _pages(admin, "/admin/accounts?q=WARD-B.TEST", row)
        assert [len(found) for found in pages] == [50, 5]
        assert [email for found in pages for email in found] == sorted(emails)
        second = admin.get("/admin/accounts", params={"q": "ward-b.test", "page": "2"}).text
        assert 'href="/admin/accounts?q=ward-b.test&amp;page=1" rel="prev"' in second
        # % and _ match only themselves; a search that matches nothing says so.
        for nothing in ("%", "nurse_0", "zzz"):
            page = admin.get("/admin/accounts", params={"q": nothing}).text
            assert "No account matches." in page and "@ward-b.test" not in page, nothing


def test_clients_are_searched_by_name_or_id(auth_server: AuthServer) -> None:
    tablets = [auth_server.client(name=f"Ward tablet {number}").id for number in range(3)]
    auth_server.client(name="Pharmacy kiosk")
    with logged_in(auth_server, auth_server.account("admin").email, "/admin") as admin:
        found = admin.get("/admin", params={"q": "TABLET"}).text
        assert all(client_id in found for client_id in tablets)
        assert "Pharmacy kiosk" not in found and "3 on page 1" in found
        by_id = admin.get("/admin", params={"q": tablets[1]}).text
        assert "Ward tablet 1" in by_id and "Ward tablet 0" not in by_id
        # The resource servers are still listed under a search.
        assert "Rotate credentials MCP" in found


def test_grants_page_through_and_the_account_page_links_to_them(auth_server: AuthServer) -> None:
    user, now = auth_server.account(), auth_server.clock()
    for number in range(56):
        grant_id = f"grant_{number:02}"
        auth_server.store.issue_personal_token(
            Grant(id=grant_id, account_id=user.id, client_id=PERSONAL_CLIENT_ID,
                  scope="read:data", resource=auth_server.resource, created_at=now - number,
                  name=f"laptop {number:02}"),
            AccessToken(token_hash=f"hash_{number}", grant_id=grant_id,
                        client_id=PERSONAL_CLIENT_ID, account_id=user.id, scope="read:data",
                        resource=auth_server.resource, issued_at=now, expires_at=now + 3600),
        )
    other = auth_server.account()
    tokens_for(auth_server, auth_server.client(public=True, name="Le Chat").id, other.email)
    with logged_in(auth_server, auth_server.account("admin").email, "/admin") as admin:
        account_page = admin.get(f"/admin/accounts/{user.id}").text
        assert account_page.count("/admin/confirm/grants/") == 20
        link = re.search(
            r'<a href="(/admin/grants\?account_id=[^"]+)">All live grants', account_page
        )
        assert link, account_page
        pages = _pages(admin, html.unescape(link.group(1)), r">(laptop \d\d)</a>")
        assert [len(found) for found in pages] == [50, 6]
        assert [name for found in pages for name in found] == [f"laptop {n:02}" for n in range(56)]
        everyone = admin.get("/admin/grants", params={"q": other.email}).text
        assert "Le Chat" in everyone and "laptop" not in everyone
        assert "laptop 07" in admin.get("/admin/grants", params={"q": "LAPTOP 07"}).text


def test_the_audit_log_names_actors_by_email_in_paris_time_with_the_whole_detail(
    auth_server: AuthServer,
) -> None:
    admin_account = auth_server.account("admin")
    # 1 July 2026, 12:00:05 UTC: 14:00:05 in Paris (summer time).
    at = int(datetime.datetime(2026, 7, 1, 12, 0, 5, tzinfo=datetime.UTC).timestamp())
    long_value = "https://assistant.example/" + "x" * 300
    auth_server.store.record(AuditEvent(
        at=at, event="admin.client_blocked", actor=admin_account.id, client_id="c1",
        detail={"client_id": long_value, "blocked": "1"},
    ))
    auth_server.store.record(AuditEvent(at=at, event="login.failed", detail={"email": "x@y"}))
    with logged_in(auth_server, admin_account.email, "/admin") as admin:
        page = admin.get("/admin/audit", params={"event": "admin.client_"}).text
        assert f'<a href="/admin/accounts/{admin_account.id}">{admin_account.email}</a>' in page
        assert "1 Jul 2026, 14:00:05" in page and 'datetime="2026-07-01T14:00:05+02:00"' in page
        assert long_value in page  # whole, not cut
        by_email = admin.get("/admin/audit", params={"actor": admin_account.email.upper()}).text
        assert "admin.client_blocked" in by_email and "login.failed" not in by_email
        unknown = admin.get("/admin/audit", params={"actor": "nobody@hospiai.test"}).text
        assert "No event matches." in unknown


def test_nonsense_in_a_list_query_is_a_page_and_too_long_a_search_is_refused(
    auth_server: AuthServer,
) -> None:
    lists = ("/admin", "/admin/accounts", "/admin/grants", "/admin/audit")
    with logged_in(auth_server, auth_server.account("admin").email, "/admin") as admin:
        for path in lists:
            for page in ("0", "-1", "²", "abc", "9" * 500, "", "1.5"):
                response = admin.get(path, params={"page": page, "before": page})
                assert response.status_code == 200, (path, page[:10])
            deep = admin.get(path, params={"page": "10000"}).text
            if path != "/admin/audit":
                assert "Nothing on page 10000." in deep, path
            name = "event" if path == "/admin/audit" else "q"
            refused = admin.get(path, params={name: "a" * 201})
            assert refused.status_code == 400, path
            assert "Search for at most 200 characters." in refused.text
            assert admin.get(path, params={name: "a" * 200}).status_code == 200, path

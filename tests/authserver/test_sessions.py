"""Login sessions are rows (issue 13 item 7): the cookie names one by a random secret stored
only as its hash, and ending the row ends every copy of the cookie at once: logout, the
account page's list of sessions, an admin's "log out everywhere", a disabled account, a new
password. Expiry keeps HOSPIAI_SESSION_TTL and the purge deletes what expired."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from itsdangerous import URLSafeTimedSerializer

from authserver.maintenance import purge
from authserver.models import Account
from authserver.web.session import LAST_SEEN_EVERY
from tests.databases import both_backends
from tests.flow import csrf_token, logged_in, post_form
from tests.harness import PASSWORD, AuthServer

pytestmark = both_backends
SESSION = "hospiai_session"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@contextmanager
def _copy(server: AuthServer, browser: httpx.Client) -> Iterator[httpx.Client]:
    """Another browser holding a copy of this one's cookies (a stolen cookie)."""
    with server.http() as thief:
        for name, value in browser.cookies.items():
            thief.cookies.set(name, value, domain="127.0.0.1")
        yield thief


def _logged_in(client: httpx.Client) -> bool:
    response = client.get("/account")
    assert response.status_code in {200, 303}, response.text
    return response.status_code == 200


def _session_ids(page: str) -> list[str]:
    return re.findall(r'data-session="([^"]+)"', page)


def _secret(server: AuthServer, browser: httpx.Client) -> str:
    claims = URLSafeTimedSerializer(server.keys.cookie_secret, salt=SESSION).loads(
        browser.cookies[SESSION]
    )
    assert isinstance(claims, dict)
    return str(claims["sid"])


def test_logout_ends_the_session_for_every_copy_of_the_cookie(auth_server: AuthServer) -> None:
    account = auth_server.account()
    with logged_in(auth_server, account.email) as browser, _copy(auth_server, browser) as thief:
        assert _logged_in(thief)
        assert post_form(browser, "/account", "/logout").status_code == 303
        assert not _logged_in(thief)
        assert not _logged_in(browser)
    assert auth_server.store.account_sessions(account.id, auth_server.clock()) == []


def test_the_row_holds_only_a_hash_of_the_cookies_secret(auth_server: AuthServer) -> None:
    account = auth_server.account()
    with logged_in(auth_server, account.email) as browser:
        secret = _secret(auth_server, browser)
    [row] = auth_server.store.account_sessions(account.id, auth_server.clock())
    assert row.secret_hash == auth_server.keys.hash_secret(secret)
    assert secret not in row.model_dump_json()
    assert row.account_id == account.id and row.network == "127.0.0.1"


def test_the_account_page_lists_the_sessions_and_ends_any(auth_server: AuthServer) -> None:
    account, other = auth_server.account(), auth_server.account()
    with (
        logged_in(auth_server, account.email) as here,
        logged_in(auth_server, account.email) as there,
        logged_in(auth_server, other.email) as someone_else,
    ):
        page = here.get("/account").text
        assert page.count("This session") == 1
        mine, listed = _this(here), _session_ids(page)
        assert len(listed) == 2 and mine in listed
        [there_id] = [session_id for session_id in listed if session_id != mine]
        # Another account's session is not this account's to end.
        refused = post_form(here, "/account", f"/account/sessions/{_this(someone_else)}/end")
        assert refused.status_code == 404 and _logged_in(someone_else)
        # Without this browser's CSRF token nothing ends.
        forged = here.post(f"/account/sessions/{there_id}/end", data={"csrf_token": "x"})
        assert forged.status_code == 403 and _logged_in(there)
        ended = post_form(here, "/account", f"/account/sessions/{there_id}/end")
        assert ended.status_code == 303 and ended.headers["location"] == "/account#sessions"
        assert not _logged_in(there) and _logged_in(here)
        assert _session_ids(here.get("/account").text) == [mine]
        # Ending this one is logging out here.
        out = post_form(here, "/account", f"/account/sessions/{mine}/end")
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert not _logged_in(here)
    events = auth_server.store.audit_events(event="session.ended")  # newest first
    assert [event.detail for event in reversed(events)] == [
        {"session_id": there_id, "by": "account"}, {"session_id": mine, "by": "account"}]
    assert all(event.actor == account.id and event.ip == "127.0.0.1" for event in events)


def _this(browser: httpx.Client) -> str:
    """The id of the session this browser is in, as its account page marks it."""
    page = browser.get("/account").text
    found = re.search(r'data-session="([^"]+)">\s*<strong>[^<]*</strong>\s*<span class="tag">'
                      r"This session", page)
    assert found, page
    return found.group(1)


def test_the_user_agent_is_summarised(auth_server: AuthServer) -> None:
    account = auth_server.account()
    with auth_server.http() as browser:
        browser.headers["user-agent"] = FIREFOX
        first = browser.get("/login")
        page = browser.get(first.headers["location"])
        browser.post("/login", data={
            "email": account.email, "password": PASSWORD, "csrf_token": csrf_token(page.text)})
        assert "Firefox on Linux" in browser.get("/account").text
    [row] = auth_server.store.account_sessions(account.id, auth_server.clock())
    assert row.user_agent == "Firefox on Linux"


def _admin_post(server: AuthServer, path: str, **data: str) -> httpx.Response:
    with logged_in(server, server.account("admin").email, "/admin") as admin:
        return post_form(admin, "/admin/accounts", path, **data)


def _sessions(server: AuthServer, account: Account) -> int:
    return len(server.store.account_sessions(account.id, server.clock()))


def test_an_admin_logs_an_account_out_everywhere(auth_server: AuthServer) -> None:
    account, bystander = auth_server.account(), auth_server.account()
    with (
        logged_in(auth_server, account.email) as first,
        logged_in(auth_server, account.email) as second,
        logged_in(auth_server, bystander.email) as third,
    ):
        done = _admin_post(auth_server, f"/admin/accounts/{account.id}/sessions/end")
        assert done.status_code == 303
        assert not _logged_in(first) and not _logged_in(second) and _logged_in(third)
    assert _sessions(auth_server, account) == 0
    [event] = auth_server.store.audit_events(event="admin.account_logged_out_everywhere")
    assert event.detail == {"account_id": account.id}
    missing = _admin_post(auth_server, "/admin/accounts/acct_nobody/sessions/end")
    assert missing.status_code == 404


def test_disabling_an_account_ends_its_sessions_for_good(auth_server: AuthServer) -> None:
    account = auth_server.account()
    with logged_in(auth_server, account.email) as browser:
        path = f"/admin/accounts/{account.id}/disabled"
        assert _admin_post(auth_server, path, disabled="1").status_code == 303
        assert _sessions(auth_server, account) == 0
        assert _admin_post(auth_server, path, disabled="0").status_code == 303
        # Enabled again, the old cookie stays dead: its row is gone.
        assert not _logged_in(browser)


def test_a_new_password_ends_every_session(auth_server: AuthServer) -> None:
    account = auth_server.account()
    new_password = "a-brand-new-passphrase"
    with logged_in(auth_server, account.email) as browser:
        path = f"/admin/accounts/{account.id}/password"
        short = _admin_post(auth_server, path, password="short")
        assert short.status_code == 400 and _logged_in(browser)
        assert _admin_post(auth_server, path, password=new_password).status_code == 303
        assert not _logged_in(browser)
    [event] = auth_server.store.audit_events(event="admin.account_password_reset")
    assert event.detail == {"account_id": account.id}
    assert new_password not in str(auth_server.store.audit_events(limit=200))
    with auth_server.http() as browser:
        first = browser.get("/login")
        token = csrf_token(browser.get(first.headers["location"]).text)
        old = browser.post("/login", data={
            "email": account.email, "password": PASSWORD, "csrf_token": token})
        assert old.status_code == 401
        new = browser.post("/login", data={
            "email": account.email, "password": new_password, "csrf_token": token})
        assert new.status_code == 303


def test_sessions_expire_after_the_ttl_and_the_purge_deletes_them(
    auth_server: AuthServer,
) -> None:
    account = auth_server.account()
    ttl = auth_server.settings.session_ttl
    with logged_in(auth_server, account.email) as browser:
        auth_server.clock.advance(ttl - 10)
        assert _logged_in(browser)
        auth_server.clock.advance(10)
        assert not _logged_in(browser)
    counts = purge(auth_server.settings, auth_server.store, auth_server.clock())
    assert counts["sessions"] == 1


def test_the_last_use_is_written_at_most_every_few_minutes(auth_server: AuthServer) -> None:
    account = auth_server.account()
    auth_server.clock.freeze()
    with logged_in(auth_server, account.email) as browser:
        [row] = auth_server.store.account_sessions(account.id, auth_server.clock())
        login_time = row.last_seen_at
        auth_server.clock.advance(LAST_SEEN_EVERY - 1)
        assert _logged_in(browser)
        [row] = auth_server.store.account_sessions(account.id, auth_server.clock())
        assert row.last_seen_at == login_time
        auth_server.clock.advance(1)
        assert _logged_in(browser)
        [row] = auth_server.store.account_sessions(account.id, auth_server.clock())
        assert row.last_seen_at == login_time + LAST_SEEN_EVERY
        assert row.auth_time == login_time


def test_a_new_login_on_the_same_browser_ends_its_previous_session(
    auth_server: AuthServer,
) -> None:
    account = auth_server.account()
    with logged_in(auth_server, account.email) as browser, _copy(auth_server, browser) as thief:
        first = browser.get("/login")
        page = browser.get(first.headers["location"] if first.status_code == 303 else "/login")
        again = browser.post("/login", data={
            "email": account.email, "password": PASSWORD, "csrf_token": csrf_token(page.text)})
        assert again.status_code == 303
        assert _logged_in(browser) and not _logged_in(thief)
    assert _sessions(auth_server, account) == 1

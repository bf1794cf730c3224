"""The browser id (CSRF tokens and the binding of interactions) is issued by the server only,
signed, and replaced at login (issue 13 item 6) and at logout: a value planted from another
site sharing the host (over http, any page on another port of localhost can set our cookies)
is no id, and an id known before the login (or the logout) is worth nothing after it."""

from __future__ import annotations

import httpx

from tests.authserver.test_sessions import _this
from tests.flow import begin, csrf_token, decide, logged_in, login
from tests.harness import PASSWORD, AuthServer

PLANTED = "planted-by-a-page-on-another-port"
BROWSER = "hospiai_browser"


def _with_cookies(server: AuthServer, **cookies: str) -> httpx.Client:
    """A browser holding exactly these cookies (as another localhost port could plant them)."""
    browser = server.http()
    for name, value in cookies.items():
        browser.cookies.set(name, value, domain="127.0.0.1")
    return browser


def test_a_planted_id_is_replaced_and_its_csrf_token_fails(auth_server: AuthServer) -> None:
    account = auth_server.account()
    with _with_cookies(auth_server, hospiai_browser=PLANTED) as browser:
        first = browser.get("/login")
        # Treated as no id: the login page first issues one of ours.
        assert first.status_code == 303
        assert f"{BROWSER}=" in first.headers["set-cookie"]
        assert PLANTED not in first.headers["set-cookie"]
    # The planter computes the token its value would get: it passes nothing.
    with _with_cookies(auth_server, hospiai_browser=PLANTED) as browser:
        refused = browser.post("/login", data={
            "email": account.email, "password": PASSWORD,
            "csrf_token": auth_server.keys.csrf_token(PLANTED),
        })
    assert refused.status_code == 403 and "This form has expired" in refused.text
    assert "hospiai_session" not in refused.headers.get("set-cookie", "")


def test_an_interaction_started_with_a_planted_id_is_not_the_planters(
    auth_server: AuthServer, public_client: str
) -> None:
    account = auth_server.account()
    with _with_cookies(auth_server, hospiai_browser=PLANTED) as victim:
        response, _ = begin(victim, public_client)
        interaction = response.headers["location"]
        assert PLANTED not in response.headers["set-cookie"]
    with _with_cookies(auth_server, hospiai_browser=PLANTED) as planter:
        page = planter.get(interaction)
        assert page.status_code == 403 and "another browser" in page.text
        logged_in = planter.post(f"{interaction}/login", data={
            "email": account.email, "password": PASSWORD,
            "csrf_token": auth_server.keys.csrf_token(PLANTED),
        })
        assert logged_in.status_code == 403
        assert "hospiai_session" not in logged_in.headers.get("set-cookie", "")


def test_the_login_replaces_the_id_and_the_interaction_follows_it(
    auth_server: AuthServer, public_client: str
) -> None:
    account = auth_server.account()
    with auth_server.http() as browser:
        response, _ = begin(browser, public_client)
        interaction = response.headers["location"]
        before = browser.cookies[BROWSER]
        token_before = csrf_token(browser.get(interaction).text)
        assert login(browser, interaction, account.email, PASSWORD).status_code == 303
        after = browser.cookies[BROWSER]
        assert after != before
        session = browser.cookies["hospiai_session"]
        # Whoever knew the id from before the login (planted or seen), even with the session
        # cookie, neither finishes the interaction nor passes CSRF.
        with _with_cookies(auth_server, hospiai_browser=before, hospiai_session=session) as old:
            assert old.get(interaction).status_code == 403
            refused = old.post(f"{interaction}/consent", data={
                "decision": "allow", "csrf_token": token_before})
            assert refused.status_code == 403
            assert old.post("/logout", data={"csrf_token": token_before}).status_code == 403
        # Nor does the old token with the new id.
        stale = browser.post("/logout", data={"csrf_token": token_before})
        assert stale.status_code == 403
        # The browser itself goes on: the interaction was moved to its new id.
        back = decide(browser, interaction, "allow")
    assert back.status_code == 303 and "code=" in back.headers["location"]


def test_the_account_login_replaces_the_id_too(auth_server: AuthServer) -> None:
    account = auth_server.account()
    with auth_server.http() as browser:
        first = browser.get("/login")
        page = browser.get(first.headers["location"])
        before, token_before = browser.cookies[BROWSER], csrf_token(page.text)
        logged_in = browser.post("/login", data={
            "email": account.email, "password": PASSWORD, "csrf_token": token_before})
        assert logged_in.status_code == 303
        assert browser.cookies[BROWSER] != before
        assert browser.post("/logout", data={"csrf_token": token_before}).status_code == 403
        fresh = csrf_token(browser.get("/account").text)
        assert fresh != token_before
        assert browser.post("/logout", data={"csrf_token": fresh}).status_code == 303


def test_the_logout_replaces_the_id(auth_server: AuthServer, public_client: str) -> None:
    """A shared computer: what the browser held before the logout passes nothing after it."""
    account = auth_server.account()
    with auth_server.http() as browser:
        response, _ = begin(browser, public_client)
        interaction = response.headers["location"]
        assert login(browser, interaction, account.email, PASSWORD).status_code == 303
        before = browser.cookies[BROWSER]
        token_before = csrf_token(browser.get("/account").text)
        assert browser.post("/logout", data={"csrf_token": token_before}).status_code == 303
        assert browser.cookies[BROWSER] != before
        # The interaction bound to the id from before is not this browser's any more.
        assert browser.get(interaction).status_code == 403
        page = browser.get("/login")
        page = browser.get(page.headers["location"]) if page.status_code == 303 else page
        refused = browser.post("/login", data={
            "email": account.email, "password": PASSWORD, "csrf_token": token_before})
        assert refused.status_code == 403
        fresh = browser.post("/login", data={
            "email": account.email, "password": PASSWORD, "csrf_token": csrf_token(page.text)})
        assert fresh.status_code == 303


def test_ending_this_session_from_the_account_page_replaces_the_id_too(
    auth_server: AuthServer,
) -> None:
    """The other way to log out here: the sessions list's "End" on this session."""
    with logged_in(auth_server, auth_server.account().email) as browser:
        mine = _this(browser)
        before, token_before = browser.cookies[BROWSER], csrf_token(browser.get("/account").text)
        out = browser.post(f"/account/sessions/{mine}/end", data={"csrf_token": token_before})
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert browser.cookies[BROWSER] != before
        assert browser.post("/login", data={"csrf_token": token_before}).status_code == 403

"""Cookies under an https issuer: Secure and the __Host- prefix."""

from __future__ import annotations

from tests.databases import Databases
from tests.flow import authorize_params, csrf_token, pkce_pair, start
from tests.harness import start_auth_server


def test_https_issuer_cookies(databases: Databases) -> None:
    with start_auth_server(databases, scheme="https") as server:
        account = server.account()
        client_id = server.client(public=True).id
        with server.http() as browser:
            response = start(browser, authorize_params(client_id, pkce_pair()[1]))
            browser_cookie = response.headers["set-cookie"]
            assert browser_cookie.startswith("__Host-hospiai_browser=")
            assert "Secure" in browser_cookie and "HttpOnly" in browser_cookie
            interaction = response.headers["location"]
            # httpx keeps Secure cookies off plain http, as a browser would; hand it back.
            value = browser_cookie.split(";")[0].split("=", 1)[1]
            browser.cookies.set("__Host-hospiai_browser", value, domain="127.0.0.1")
            page = browser.get(interaction)
            logged_in = browser.post(
                f"{interaction}/login",
                data={"email": account.email, "password": "correct-horse-battery",
                      "csrf_token": csrf_token(page.text)},
            )
        assert logged_in.status_code == 303
        session_cookie = logged_in.headers["set-cookie"]
        assert session_cookie.startswith("__Host-hospiai_session=")
        for attribute in ("Secure", "HttpOnly", "SameSite=lax", "Path=/"):
            assert attribute in session_cookie
        assert "Domain" not in session_cookie

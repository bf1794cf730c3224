"""The admin console: access, clients (block, admin consent, delete), accounts, grants,
resource servers and the audit log."""

from __future__ import annotations

import re

from authserver.provisioning import Credentials
from tests.databases import both_backends
from tests.flow import (
    begin,
    introspect,
    logged_in,
    login,
    post_form,
    refresh,
    tokens_for,
)
from tests.harness import PASSWORD, AuthServer

pytestmark = both_backends


def test_only_recently_logged_in_admins_get_in(auth_server: AuthServer) -> None:
    with auth_server.http() as anonymous:
        response = anonymous.get("/admin")
    assert response.status_code == 303 and response.headers["location"] == "/login?next=%2Fadmin"
    for role in ("patient", "staff"):
        with logged_in(auth_server, auth_server.account(role).email, "/admin") as browser:
            refused = browser.get("/admin")
            assert refused.status_code == 403 and "Administrators only" in refused.text
            assert browser.get("/admin/audit").status_code == 403
    with logged_in(auth_server, auth_server.account("admin").email, "/admin") as admin:
        assert admin.get("/admin").status_code == 200
        auth_server.clock.advance(16 * 60)
        stale = admin.get("/admin/accounts")
        assert stale.status_code == 303
        assert stale.headers["location"] == "/login?next=%2Fadmin%2Faccounts"


def test_a_blocked_client_is_refused_everywhere(
    auth_server: AuthServer, public_client: str
) -> None:
    tokens = tokens_for(auth_server, public_client, auth_server.account().email)
    client_page = f"/admin/clients/{public_client}"
    with logged_in(auth_server, auth_server.account("admin").email, "/admin") as admin:
        assert "Test Client" in admin.get("/admin").text
        blocked = post_form(admin, client_page, f"{client_page}/block", blocked="1")
        assert blocked.status_code == 303
        assert "Blocked" in admin.get(client_page).text
        with auth_server.http() as browser:
            page, _ = begin(browser, public_client)
        assert page.status_code == 403 and "location" not in page.headers
        assert "has been blocked" in page.text
        assert introspect(auth_server, tokens["access_token"]).json() == {"active": False}
        refused = refresh(auth_server, public_client, tokens["refresh_token"])
        assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
        # Unblocking restores it: blocking revoked nothing.
        post_form(admin, client_page, f"{client_page}/block", blocked="0")
    assert introspect(auth_server, tokens["access_token"]).json()["active"] is True


def test_admin_consent_means_users_are_not_asked(
    auth_server: AuthServer, confidential_client: Credentials
) -> None:
    # Confidential: admin consent does not spare the click to a public client answered on this
    # device (issue 13 item 1, test_native_impersonation).
    client_id = confidential_client.id
    client_page = f"/admin/clients/{client_id}"
    with logged_in(auth_server, auth_server.account("admin").email, "/admin") as admin:
        post_form(
            admin,
            client_page,
            f"{client_page}/approve",
            scope=["read:data", "read:bookings", "offline_access"],
        )
    email = auth_server.account().email
    with auth_server.http() as browser:
        interaction = begin(browser, client_id)[0].headers["location"]
        logged = login(browser, interaction, email, PASSWORD)
        assert logged.headers["location"].startswith("/authorize/resume/")
        # A scope outside the admin consent is still asked.
        wider, _ = begin(browser, client_id, scope="read:profile")
        assert wider.headers["location"].startswith("/interaction/")


def test_accounts_are_created_searched_disabled_and_promoted(
    auth_server: AuthServer, public_client: str
) -> None:
    with logged_in(auth_server, auth_server.account("admin").email, "/admin") as admin:
        bad = post_form(
            admin,
            "/admin/accounts",
            "/admin/accounts",
            email="not-an-email",
            given_name="A",
            family_name="B",
            role="patient",
            password="long-enough-pw",
        )
        assert bad.status_code == 400 and "not an email address" in bad.text
        created = post_form(
            admin,
            "/admin/accounts",
            "/admin/accounts",
            email="new.nurse@hospiai.test",
            given_name="Nina",
            family_name="Durand",
            role="patient",
            password="long-enough-pw",
        )
        assert created.status_code == 303
        page = created.headers["location"]
        assert "new.nurse@hospiai.test" in admin.get("/admin/accounts", params={"q": "durand"}).text
        tokens = tokens_for(
            auth_server, public_client, "new.nurse@hospiai.test", password="long-enough-pw"
        )
        post_form(admin, page, f"{page}/role", role="staff")
        assert "staff" in admin.get(page).text
        assert post_form(admin, page, f"{page}/role", role="superuser").status_code == 400
        post_form(admin, page, f"{page}/disabled", disabled="1")
        assert introspect(auth_server, tokens["access_token"]).json() == {"active": False}


def test_admin_revokes_a_grant(auth_server: AuthServer, public_client: str) -> None:
    user = auth_server.account()
    tokens = tokens_for(auth_server, public_client, user.email)
    page = f"/admin/accounts/{user.id}"
    with logged_in(auth_server, auth_server.account("admin").email, "/admin") as admin:
        listing = admin.get(page).text
        # The revoke button is on the confirmation page the listing links to (issue 17).
        link = re.search(r'href="(/admin/confirm/grants/[^"]+)"', listing)
        assert link, listing
        confirmation = admin.get(link.group(1).replace("&amp;", "&")).text
        action = re.search(r'action="(/admin/grants/[^"]+/revoke\?back=[^"]+)"', confirmation)
        assert action, confirmation
        response = post_form(admin, page, action.group(1).replace("&amp;", "&"))
        assert response.status_code == 303 and response.headers["location"] == page
    assert introspect(auth_server, tokens["access_token"]).json() == {"active": False}


def test_resource_servers_are_created_and_rotated(
    auth_server: AuthServer, public_client: str
) -> None:
    with logged_in(auth_server, auth_server.account("admin").email, "/admin") as admin:
        created = post_form(
            admin,
            "/admin",
            "/admin/resource-servers",
            name="Records",
            resource="https://records.hospiai.test/api",
        )
        assert created.status_code == 201
        rs_id = re.search(r'id="rs-id" type="text" readonly value="([^"]+)"', created.text).group(1)  # type: ignore[union-attr]
        old = re.search(r'value="(hospiai_rs_[^"]+)"', created.text).group(1)  # type: ignore[union-attr]
        assert old not in admin.get("/admin").text
        tokens = tokens_for(
            auth_server,
            public_client,
            auth_server.account().email,
            resource="https://records.hospiai.test/api",
        )
        assert (
            introspect(auth_server, tokens["access_token"], (rs_id, old)).json()["active"] is True
        )
        rotated = post_form(admin, "/admin", f"/admin/resource-servers/{rs_id}/rotate")
        new = re.search(r'value="(hospiai_rs_[^"]+)"', rotated.text).group(1)  # type: ignore[union-attr]
    assert introspect(auth_server, tokens["access_token"], (rs_id, old)).status_code == 401
    assert introspect(auth_server, tokens["access_token"], (rs_id, new)).json()["active"] is True


def test_admin_actions_are_audited_and_the_log_pages(
    auth_server: AuthServer, public_client: str
) -> None:
    admin_account = auth_server.account("admin")
    client_page = f"/admin/clients/{public_client}"
    with logged_in(auth_server, admin_account.email, "/admin") as admin:
        for blocked in ("1", "0") * 30:
            post_form(admin, client_page, f"{client_page}/block", blocked=blocked)
        first = admin.get("/admin/audit", params={"event": "admin.", "actor": admin_account.id})
        assert first.text.count("admin.client_blocked") == 50
        older = re.search(r'href="(/admin/audit\?[^"]+)">Older events', first.text)
        assert older
        second = admin.get(older.group(1).replace("&amp;", "&"))
        assert second.text.count("admin.client_blocked") == 10
        assert "Older events" not in second.text
        assert "login.succeeded" in admin.get("/admin/audit", params={"event": "login."}).text
        # A cursor beyond any id (or any column) is the newest page, not a server error.
        # Nor is a cursor int() cannot read: a superscript digit, or five thousand digits.
        for before in ("9" * 30, "²", "9" * 5000):
            page = admin.get("/admin/audit", params={"event": "admin.", "before": before})
            assert page.status_code == 200, before[:10]
            assert page.text.count("admin.client_blocked") == 50


def test_admin_forms_need_the_csrf_token(auth_server: AuthServer, public_client: str) -> None:
    with logged_in(auth_server, auth_server.account("admin").email, "/admin") as admin:
        response = admin.post(f"/admin/clients/{public_client}/block", data={"blocked": "1"})
    assert response.status_code == 403
    assert auth_server.store.client(public_client).blocked is False  # type: ignore[union-attr]


def test_admin_deletes_a_client_and_its_tokens_die(
    auth_server: AuthServer, public_client: str
) -> None:
    user = auth_server.account()
    tokens = tokens_for(auth_server, public_client, user.email)
    client_page = f"/admin/clients/{public_client}"
    with logged_in(auth_server, auth_server.account("admin").email, "/admin") as admin:
        assert user.email in admin.get(client_page).text  # its grants, per client
        deleted = post_form(admin, client_page, f"{client_page}/delete")
        assert deleted.status_code == 303 and deleted.headers["location"] == "/admin"
        assert admin.get(client_page).status_code == 404
        assert "Test Client" not in admin.get("/admin").text
    assert introspect(auth_server, tokens["access_token"]).json() == {"active": False}
    refused = refresh(auth_server, public_client, tokens["refresh_token"])
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"


def test_the_built_in_personal_token_client_cannot_be_deleted_or_approved(
    auth_server: AuthServer,
) -> None:
    page = "/admin/clients/hospiai_personal_tokens"
    with logged_in(auth_server, auth_server.account("admin").email, "/admin") as admin:
        for action in (f"{page}/delete", f"{page}/approve"):
            refused = post_form(admin, page, action, scope="read:data")
            assert refused.status_code == 400 and "Built-in client" in refused.text
        assert not auth_server.store.audit_events(event="admin.client_")
    client = auth_server.store.client("hospiai_personal_tokens")
    assert client is not None and client.approved_scope == ""


def test_withdrawn_admin_consent_asks_users_again(
    auth_server: AuthServer, public_client: str
) -> None:
    client_page = f"/admin/clients/{public_client}"
    email = auth_server.account().email
    with logged_in(auth_server, auth_server.account("admin").email, "/admin") as admin:
        post_form(
            admin,
            client_page,
            f"{client_page}/approve",
            scope=["read:data", "read:bookings", "offline_access"],
        )
        tokens_for(auth_server, public_client, email)  # silently, under the admin's consent
        with logged_in(auth_server, email) as user:
            assert "(by your hospital)" in user.get("/account").text
        post_form(admin, client_page, f"{client_page}/approve", scope=[])
    with auth_server.http() as browser:
        interaction = begin(browser, public_client)[0].headers["location"]
        # The user never allowed these themselves: the consent page is back.
        assert login(browser, interaction, email, PASSWORD).headers["location"] == interaction


def test_after_a_revoke_the_admin_returns_only_to_an_admin_page(
    auth_server: AuthServer, public_client: str
) -> None:
    user = auth_server.account()
    page = f"/admin/accounts/{user.id}"
    with logged_in(auth_server, auth_server.account("admin").email, "/admin") as admin:
        for back in (
            "//evil.example/admin/",
            "https://evil.example/admin/",
            "/admin/\\evil",
            "/account",
            page,
        ):
            tokens_for(auth_server, public_client, user.email)
            grant_id = auth_server.store.live_grants(account_id=user.id)[0][0].id
            response = post_form(admin, page, f"/admin/grants/{grant_id}/revoke?back={back}")
            assert response.status_code == 303
            assert response.headers["location"] == (page if back == page else "/admin"), back


def test_confirmation_pages_change_nothing_and_name_only_what_exists(
    auth_server: AuthServer, public_client: str
) -> None:
    user = auth_server.account()
    tokens_for(auth_server, public_client, user.email)
    grant_id = auth_server.store.live_grants(account_id=user.id)[0][0].id
    asks = [
        f"/admin/confirm/clients/{public_client}/block",
        f"/admin/confirm/clients/{public_client}/delete",
        f"/admin/confirm/resource-servers/{auth_server.resource_server.id}/rotate",
        f"/admin/confirm/grants/{grant_id}/revoke",
        f"/admin/confirm/accounts/{user.id}/disabled",
    ]
    with logged_in(auth_server, auth_server.account("admin").email, "/admin") as admin:
        for ask in asks:
            assert admin.get(ask).status_code == 200, ask
            missing = ask.replace(public_client, "nope").replace(grant_id, "nope")
            missing = missing.replace(user.id, "nope")
            missing = missing.replace(auth_server.resource_server.id, "nope")
            assert admin.get(missing).status_code == 404, missing
    client = auth_server.store.client(public_client)
    account = auth_server.store.account(user.id)
    assert client is not None and not client.blocked
    assert account is not None and not account.disabled
    assert auth_server.store.live_grants(account_id=user.id)
    assert introspect(auth_server, "hospiai_at_unknown").status_code == 200

"""Consent memory: a grant remembers what the account allowed the client, for one resource."""

from __future__ import annotations

from authserver.provisioning import Credentials
from tests.databases import both_backends
from tests.flow import (
    REDIRECT_URI,
    authorize,
    begin,
    decide,
    exchange,
    introspect,
    login,
    query_of,
    tokens_for,
)
from tests.harness import PASSWORD, AuthServer

pytestmark = both_backends


def test_remembered_consent_skips_the_page(
    auth_server: AuthServer, confidential_client: Credentials
) -> None:
    # Confidential: a public client answered on this device is always asked (issue 13 item 1,
    # test_native_impersonation).
    client_id, secret = confidential_client.id, confidential_client.secret
    email = auth_server.account().email
    first = tokens_for(auth_server, client_id, email, secret=secret)
    with auth_server.http() as browser:
        response, verifier = begin(browser, client_id)
        interaction = response.headers["location"]
        logged_in = login(browser, interaction, email, PASSWORD)
        # Straight back to the client: no consent page.
        assert logged_in.status_code == 303
        assert logged_in.headers["location"] == interaction.replace(
            "/interaction/", "/authorize/resume/"
        )
        back = browser.get(logged_in.headers["location"])
        # Same browser, already logged in: /authorize answers without any page.
        again, again_verifier = begin(browser, client_id)
        assert again.headers["location"].startswith("/authorize/resume/")
        silent = browser.get(again.headers["location"])
    for redirect, code_verifier in ((back, verifier), (silent, again_verifier)):
        code = query_of(redirect.headers["location"])["code"]
        exchanged = exchange(auth_server, client_id, code, code_verifier, secret=secret)
        assert exchanged.status_code == 200
    # All three authorizations share the first one's grant: one connected app, not three.
    assert introspect(auth_server, first["access_token"]).json()["active"] is True
    assert len(auth_server.store.live_grants(client_id=client_id)) == 1
    remembered = auth_server.store.audit_events(event="consent.remembered")
    assert len(remembered) == 2 and remembered[0].client_id == client_id


def test_stay_connected_is_remembered_like_any_scope(
    auth_server: AuthServer, confidential_client: Credentials
) -> None:
    """Issue 12: the user allowed "Stay connected" without the client naming offline_access,
    and the grant says so; a later request naming it (or not) asks nothing new."""
    client_id = confidential_client.id
    email = auth_server.account().email
    tokens_for(auth_server, client_id, email, secret=confidential_client.secret, scope="read:data")
    [(grant, _, _)] = auth_server.store.live_grants(client_id=client_id)
    assert grant.scope == "read:data offline_access"
    for scope in ("read:data offline_access", "read:data"):
        with auth_server.http() as browser:
            response, _ = begin(browser, client_id, scope=scope)
            logged_in = login(browser, response.headers["location"], email, PASSWORD)
            assert logged_in.headers["location"].startswith("/authorize/resume/"), scope


def test_prompt_consent_shows_the_page_again(auth_server: AuthServer, public_client: str) -> None:
    email = auth_server.account().email
    tokens_for(auth_server, public_client, email)
    with auth_server.http() as browser:
        response, _ = begin(browser, public_client, prompt="consent")
        interaction = response.headers["location"]
        logged_in = login(browser, interaction, email, PASSWORD)
        assert logged_in.headers["location"] == interaction
        page = browser.get(interaction).text
        assert 'value="allow"' in page and "New</span>" not in page
        # Logged in now, and prompt=consent still asks.
        forced, _ = begin(browser, public_client, prompt="consent")
        assert forced.headers["location"].startswith("/interaction/")


def test_new_scopes_are_asked_and_marked(auth_server: AuthServer, public_client: str) -> None:
    email = auth_server.account().email
    tokens_for(auth_server, public_client, email, scope="read:data")
    with auth_server.http() as browser:
        response, _ = begin(browser, public_client, scope="read:data read:bookings")
        interaction = response.headers["location"]
        assert login(browser, interaction, email, PASSWORD).headers["location"] == interaction
        page = browser.get(interaction).text
    marked = [item for item in page.split("<li") if "New</span>" in item]
    assert len(marked) == 1 and "See your appointments" in marked[0]
    assert "See hospitals and availability" in page


def test_deny_leaves_the_earlier_grant(
    auth_server: AuthServer, confidential_client: Credentials
) -> None:
    client_id = confidential_client.id
    email = auth_server.account().email
    earlier = tokens_for(auth_server, client_id, email, secret=confidential_client.secret)
    denied = authorize(auth_server, client_id, email, decision="deny", prompt="consent")
    assert denied.params["error"] == "access_denied"
    assert introspect(auth_server, earlier["access_token"]).json()["active"] is True
    # Still remembered: the next authorization needs no page.
    with auth_server.http() as browser:
        response, _ = begin(browser, client_id)
        logged_in = login(browser, response.headers["location"], email, PASSWORD)
        assert logged_in.headers["location"].startswith("/authorize/resume/")


def test_prompt_none_succeeds_only_when_remembered(
    auth_server: AuthServer, confidential_client: Credentials
) -> None:
    client_id, secret = confidential_client.id, confidential_client.secret
    email = auth_server.account().email
    with auth_server.http() as browser:
        response, _ = begin(browser, client_id)
        interaction = response.headers["location"]
        login(browser, interaction, email, PASSWORD)
        decide(browser, interaction, "allow")
        silent, verifier = begin(browser, client_id, prompt="none")
        back = browser.get(silent.headers["location"])
        code = query_of(back.headers["location"])["code"]
        assert exchange(auth_server, client_id, code, verifier, secret=secret).status_code == 200
        wider, _ = begin(browser, client_id, prompt="none", scope="read:profile")
        assert query_of(wider.headers["location"])["error"] == "consent_required"


def test_a_revoked_grant_is_forgotten(auth_server: AuthServer, public_client: str) -> None:
    email = auth_server.account().email
    tokens = tokens_for(auth_server, public_client, email)
    with auth_server.http() as client:
        revoked = client.post(
            "/revoke", data={"token": tokens["refresh_token"], "client_id": public_client}
        )
    assert revoked.status_code == 200
    with auth_server.http() as browser:
        response, _ = begin(browser, public_client)
        interaction = response.headers["location"]
        assert login(browser, interaction, email, PASSWORD).headers["location"] == interaction


def test_the_code_carries_exactly_the_consented_scope(auth_server: AuthServer) -> None:
    """A client widening its registered scope (RFC 7592) while the user decides gains nothing."""
    with auth_server.http() as client:
        body = client.post("/register", json={
            "redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "none",
            "client_name": "Shifty", "scope": "read:data",
            "grant_types": ["authorization_code", "refresh_token"]}).json()
    email = auth_server.account().email
    with auth_server.http() as browser:
        # No scope asked: the client's registered default, read:data, is what the user sees.
        response, verifier = begin(browser, body["client_id"], scope="")
        interaction = response.headers["location"]
        login(browser, interaction, email, PASSWORD)
        assert "See your appointments" not in browser.get(interaction).text
        with auth_server.http() as client:
            widened = client.put(
                body["registration_client_uri"].removeprefix(auth_server.url),
                headers={"Authorization": f"Bearer {body['registration_access_token']}"},
                json={"client_id": body["client_id"], "client_name": "Shifty",
                      "redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "none",
                      "scope": "read:data read:bookings read:profile",
                      "grant_types": ["authorization_code", "refresh_token"]})
        assert widened.status_code == 200, widened.text
        back = decide(browser, interaction, "allow")
    code = query_of(back.headers["location"])["code"]
    tokens = exchange(auth_server, body["client_id"], code, verifier).json()
    # With offline_access: the client registered the refresh_token grant (issue 12).
    assert tokens["scope"] == "read:data offline_access"
    grants = auth_server.store.live_grants(client_id=body["client_id"])
    assert [grant.scope for grant, _, _ in grants] == ["read:data offline_access"]


def test_a_demoted_account_loses_what_its_new_role_cannot_hold(
    auth_server: AuthServer, public_client: str
) -> None:
    staff = auth_server.account("staff")
    tokens = tokens_for(auth_server, public_client, staff.email,
                        scope="read:data write:data offline_access")
    assert introspect(auth_server, tokens["access_token"]).json()["scope"] == (
        "read:data write:data offline_access")
    auth_server.store.set_account_role(staff.id, "patient", auth_server.clock())
    assert introspect(auth_server, tokens["access_token"]).json()["scope"] == (
        "read:data offline_access")
    with auth_server.http() as client:
        renewed = client.post("/token", data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
            "client_id": public_client}).json()
    assert renewed["scope"] == "read:data offline_access"


def test_consent_is_remembered_per_resource(auth_server: AuthServer, public_client: str) -> None:
    """Allowing an assistant on the MCP server does not silently allow it on another service."""
    auth_server.add_resource_server("https://records.hospiai.test/api")
    email = auth_server.account().email
    tokens_for(auth_server, public_client, email)
    with auth_server.http() as browser:
        response, _ = begin(browser, public_client, resource="https://records.hospiai.test/api")
        interaction = response.headers["location"]
        assert login(browser, interaction, email, PASSWORD).headers["location"] == interaction


def test_new_redirect_uris_withdraw_remembered_and_admin_consent(auth_server: AuthServer) -> None:
    """Issue 13 item 11: whoever holds the registration access token cannot point the codes
    users allowed (or an admin allowed for them) at another site. A change that keeps the
    redirect URIs keeps the consent."""
    with auth_server.http() as http:
        body = http.post("/register", json={
            "redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "client_secret_basic",
            "client_name": "Before", "grant_types": ["authorization_code", "refresh_token"],
        }).json()
    client_id, email = body["client_id"], auth_server.account().email
    tokens = tokens_for(auth_server, client_id, email, secret=body["client_secret"])
    assert auth_server.store.approve_client(client_id, "read:profile")

    def put(redirect_uris: list[str]) -> None:
        with auth_server.http() as http:
            response = http.put(
                body["registration_client_uri"].removeprefix(auth_server.url),
                headers={"Authorization": f"Bearer {body['registration_access_token']}"},
                json={"client_id": client_id, "client_name": "After",
                      "redirect_uris": redirect_uris,
                      "token_endpoint_auth_method": "client_secret_basic",
                      "grant_types": ["authorization_code", "refresh_token"]},
            )
        assert response.status_code == 200, response.text

    def remembered() -> bool:
        with auth_server.http() as browser:
            response, _ = begin(browser, client_id)
            logged_in = login(browser, response.headers["location"], email, PASSWORD)
            return bool(logged_in.headers["location"].startswith("/authorize/resume/"))

    put([REDIRECT_URI])
    assert introspect(auth_server, tokens["access_token"]).json()["active"] is True
    client = auth_server.store.client(client_id)
    assert client is not None and client.approved_scope == "read:profile"
    assert remembered()
    put([REDIRECT_URI, "https://elsewhere.example.org/cb"])
    assert introspect(auth_server, tokens["access_token"]).json() == {"active": False}
    assert auth_server.store.live_grants(client_id=client_id) == []
    client = auth_server.store.client(client_id)
    assert client is not None and client.approved_scope == ""
    assert not remembered()

"""The patient's access log on the authorization server's account page (issue 16 item 4): the
page asks the MCP server's /data-access with a one-minute token of the signed-in user's, which
is revoked once answered; the endpoint answers only the token's user, with read:profile."""

from __future__ import annotations

import re

import httpx
from sqlmodel import Session, select

from authserver.models import ACCOUNT_PAGE_CLIENT_ID, AccessToken, Grant
from tests.databases import Databases, both_backends
from tests.flow import create_personal_token, logged_in, new_personal_token, tokens_for
from tests.harness import Stack, start_auth_server
from tests.mcpserver.desk import booked
from tests.mcpserver.helpers import call, token_for
from tests.servers import bind_loopback

pytestmark = both_backends

PATIENT = "read:data read:bookings write:bookings read:profile"
DESK = "read:data read:schedule write:schedule"


def _entries(page: str) -> list[str]:
    return re.findall(r'data-entry="(\d+)"', page)


def _account_page_tokens(stack: Stack) -> list[AccessToken]:
    with Session(stack.auth.store._engine) as session:
        return list(session.exec(
            select(AccessToken).where(AccessToken.client_id == ACCOUNT_PAGE_CLIENT_ID)))


def test_the_account_page_shows_who_reached_the_patients_data(stack: Stack) -> None:
    alice, bob = stack.auth.account(), stack.auth.account()
    app = stack.auth.client(public=True, name="Le Chat")
    token = tokens_for(stack.auth, app.id, alice.email, scope=PATIENT,
                       resource=stack.mcp_url)["access_token"]
    desk, _ = token_for(stack, "staff", DESK, hospitals=("lyon-1",))
    appointment = booked(stack, alice.id, "lyon-1", starts_in=-3600)
    call(stack, token, "list_my_appointments", {"which": "all"})
    call(stack, desk, "mark_appointment", {"appointment_id": appointment, "outcome": "attended"})

    with logged_in(stack.auth, alice.email) as browser:
        assert 'href="/account/data-access"' in browser.get("/account").text
        first = browser.get("/account/data-access")
        again = browser.get("/account/data-access")
    assert first.status_code == 200, first.text
    assert first.headers["cache-control"] == "no-store"
    page = first.text
    assert len(_entries(page)) == 2 and _entries(again.text) == _entries(page)
    marked, listed = page.index("marked an appointment"), page.index("listed your appointments")
    assert marked < listed  # newest first
    assert "Alice Martin (staff)" in page and "<strong>You</strong>" in page
    assert "with Le Chat" in page and appointment in page and "hospital lyon-1" in page

    with logged_in(stack.auth, bob.email) as browser:
        other = browser.get("/account/data-access").text
    assert _entries(other) == [] and appointment not in other
    assert "No app has reached your health data yet." in other

    # Each view's token died once answered; the views share one grant per account.
    minted = _account_page_tokens(stack)
    assert len(minted) == 3 and all(row.revoked_at is not None for row in minted)
    assert all(row.expires_at - row.issued_at == 60 for row in minted)
    with Session(stack.auth.store._engine) as session:
        grants = session.exec(select(Grant).where(Grant.client_id == ACCOUNT_PAGE_CLIENT_ID))
        assert sorted(grant.account_id for grant in grants) == sorted([alice.id, bob.id])
    # The account page is no app the user connected.
    with logged_in(stack.auth, alice.email) as browser:
        assert "Your HospiAI account page" not in browser.get("/account").text


def test_a_personal_token_is_named_in_the_pages_language(stack: Stack) -> None:
    """The built-in client's name is stored in English (a migration wrote it): the French page
    says it in French."""
    alice = stack.auth.account()
    with logged_in(stack.auth, alice.email) as browser:
        token = new_personal_token(create_personal_token(browser, stack.auth))
        call(stack, token, "list_my_appointments", {"which": "all"})
        french = browser.get("/account/data-access", headers={"Accept-Language": "fr"}).text
    assert len(_entries(french)) == 1
    assert "avec Jetons d\u2019accès personnels" in french
    assert "Personal access tokens" not in french


def test_the_account_pages_grant_is_named_in_the_admins_language(stack: Stack) -> None:
    """It has no name of its own (it was stored in English): its built-in client names it."""
    alice = stack.auth.account()
    with logged_in(stack.auth, alice.email) as browser:
        assert browser.get("/account/data-access").status_code == 200
    admin = stack.auth.account("admin")
    with logged_in(stack.auth, admin.email, "/admin") as console:
        french = console.get(f"/admin/accounts/{alice.id}", headers={"Accept-Language": "fr"})
    assert french.status_code == 200, french.text
    assert "La page de votre compte HospiAI" in french.text
    assert "Account page" not in french.text


def test_the_endpoint_answers_only_its_tokens_user_with_read_profile(stack: Stack) -> None:
    url = stack.mcp_url.removesuffix("/mcp") + "/data-access"
    alice, alice_sub = token_for(stack, scope=PATIENT)
    bob, _ = token_for(stack, scope=PATIENT)
    for _ in range(3):
        call(stack, alice, "list_my_appointments", {"which": "all"})

    mine = httpx.get(url, headers={"Authorization": f"Bearer {alice}"}).json()["entries"]
    assert [entry["who"] for entry in mine] == ["you"] * 3
    assert httpx.get(url, headers={"Authorization": f"Bearer {bob}"}).json() == {"entries": []}
    older = httpx.get(url, params={"before": mine[0]["entry_id"], "limit": 1},
                      headers={"Authorization": f"Bearer {alice}"}).json()["entries"]
    assert [entry["entry_id"] for entry in older] == [mine[1]["entry_id"]]

    anonymous = httpx.get(url)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer resource_metadata=")
    forged = httpx.get(url, headers={"Authorization": "Bearer hospiai_at_forged"})
    assert forged.status_code == 401 and 'error="invalid_token"' in forged.headers[
        "www-authenticate"]
    narrow, _ = token_for(stack, scope="read:data")
    refused = httpx.get(url, headers={"Authorization": f"Bearer {narrow}"})
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
    assert "read:profile" in refused.headers["www-authenticate"]
    for bad in ({"limit": "0"}, {"limit": "201"}, {"before": "x"}, {"before": "0"}):
        answer = httpx.get(url, params=bad, headers={"Authorization": f"Bearer {alice}"})
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"
    assert alice_sub not in str(
        httpx.get(url, headers={"Authorization": f"Bearer {bob}"}).json())


def test_an_unreachable_mcp_server_gives_a_clear_page_and_no_live_token(
    databases: Databases,
) -> None:
    closed = bind_loopback()
    url = f"http://127.0.0.1:{closed.getsockname()[1]}/data-access"
    closed.close()
    with start_auth_server(databases, data_access_url=url) as auth:
        account = auth.account()
        with logged_in(auth, account.email) as browser:
            page = browser.get("/account/data-access")
        assert page.status_code == 503
        assert "cannot be read right now" in page.text and "Nothing is lost" in page.text
        with Session(auth.store._engine) as session:
            minted = session.exec(
                select(AccessToken).where(AccessToken.client_id == ACCOUNT_PAGE_CLIENT_ID)).all()
        assert len(minted) == 1 and minted[0].revoked_at is not None

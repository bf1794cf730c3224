"""The hospitals staff belong to (issue 16 item 1): managed in the admin console and by the
CLI, audited, and sent to resource servers as the `hospital_ids` introspection claim."""

from __future__ import annotations

import pytest

from hospiai.cli import main
from tests.databases import both_backends
from tests.flow import introspect, logged_in, post_form, tokens_for
from tests.harness import AuthServer

pytestmark = both_backends


def _claims(auth_server: AuthServer, email: str) -> dict[str, object]:
    client = auth_server.client(public=True).id
    token = tokens_for(auth_server, client, email)["access_token"]
    claims: dict[str, object] = introspect(auth_server, token).json()
    assert claims["active"] is True
    return claims


def test_introspection_names_a_staff_accounts_hospitals_and_only_theirs(
    auth_server: AuthServer,
) -> None:
    staff, other, patient = (auth_server.account(role) for role in ("staff", "staff", "patient"))
    auth_server.join(staff, "paris-1", "lyon-2")
    auth_server.join(other, "nice-1")
    assert _claims(auth_server, staff.email)["hospital_ids"] == ["lyon-2", "paris-1"]
    assert _claims(auth_server, other.email)["hospital_ids"] == ["nice-1"]
    assert _claims(auth_server, auth_server.account("staff").email)["hospital_ids"] == []
    assert "hospital_ids" not in _claims(auth_server, patient.email)


def test_admins_add_and_remove_memberships_audited(auth_server: AuthServer) -> None:
    staff = auth_server.account("staff")
    page = f"/admin/accounts/{staff.id}"
    admin = auth_server.account("admin")
    with logged_in(auth_server, admin.email, "/admin") as browser:
        added = post_form(browser, page, f"{page}/memberships", hospital_id="paris-1")
        assert added.status_code == 303 and added.headers["location"] == page
        again = post_form(browser, page, f"{page}/memberships", hospital_id="paris-1")
        assert again.status_code == 303
        assert "paris-1" in browser.get(page).text
        assert auth_server.store.hospital_ids(staff.id) == ["paris-1"]
        for bad in ("Paris 1", "", "x" * 65, "../paris-1"):
            refused = post_form(browser, page, f"{page}/memberships", hospital_id=bad)
            assert refused.status_code == 400 and "not a hospital id" in refused.text
        patient = auth_server.account()
        patient_page = f"/admin/accounts/{patient.id}"
        refused = post_form(browser, patient_page, f"{patient_page}/memberships",
                            hospital_id="paris-1")
        assert refused.status_code == 400 and "staff and admin accounts belong" in refused.text
        removed = post_form(browser, page, f"{page}/memberships/remove", hospital_id="paris-1")
        assert removed.status_code == 303
        gone = post_form(browser, page, f"{page}/memberships/remove", hospital_id="paris-1")
        assert gone.status_code == 404
    assert auth_server.store.hospital_ids(staff.id) == []
    assert auth_server.store.hospital_ids(patient.id) == []
    events = auth_server.store.audit_events(event="admin.membership")
    assert [(e.event, e.actor, e.detail.get("hospital_id")) for e in events] == [
        ("admin.membership_removed", admin.id, "paris-1"),
        ("admin.membership_added", admin.id, "paris-1"),
        ("admin.membership_added", admin.id, "paris-1"),
    ]
    assert all(e.detail["account_id"] == staff.id for e in events)


def test_staff_pages_refuse_membership_changes(auth_server: AuthServer) -> None:
    staff = auth_server.account("staff")
    page = f"/admin/accounts/{staff.id}"
    with logged_in(auth_server, staff.email, "/account") as browser:
        token = browser.get("/account").text
        assert "csrf_token" in token
        refused = browser.post(f"{page}/memberships", data={"hospital_id": "paris-1"})
        assert refused.status_code in (400, 403)
    assert auth_server.store.hospital_ids(staff.id) == []


def test_the_cli_adds_lists_and_removes_audited(
    auth_server: AuthServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOSPIAI_ISSUER", auth_server.settings.issuer)
    monkeypatch.setenv("HOSPIAI_SECRET_KEY", auth_server.settings.secret_key)
    monkeypatch.setenv("HOSPIAI_AUTH_DATABASE_URL", auth_server.settings.database_url)
    staff = auth_server.account("staff")
    email = ["--email", staff.email]
    assert main(["memberships", "add", *email, "--hospital-id", "reims-3"]) == 0
    assert main(["memberships", "add", *email, "--hospital-id", "reims-3"]) == 0
    assert main(["memberships", "list", *email]) == 0
    assert main(["memberships", "add", *email, "--hospital-id", "Reims 3"]) == 1
    assert main(["memberships", "add", "--email", "nobody@hospiai.test",
                 "--hospital-id", "reims-3"]) == 1
    output = capsys.readouterr()
    assert output.out.splitlines() == [
        f"{staff.email} reims-3: added", f"{staff.email} reims-3: already a member", "reims-3"]
    assert "not a hospital id" in output.err and "no account has the email" in output.err
    assert main(["memberships", "remove", *email, "--hospital-id", "reims-3"]) == 0
    assert auth_server.store.hospital_ids(staff.id) == []
    events = auth_server.store.audit_events(event="admin.membership")
    assert [(e.event, e.actor, e.detail) for e in events] == [
        ("admin.membership_removed", None,
         {"account_id": staff.id, "hospital_id": "reims-3", "via": "cli"}),
        ("admin.membership_added", None,
         {"account_id": staff.id, "hospital_id": "reims-3", "via": "cli"}),
    ]

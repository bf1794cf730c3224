"""HospiAI's tokens from before the move: their imported records make the HS256 JWTs they
were issued as introspect active while live, listed and revocable on /account like personal
tokens; without the legacy secret, or with anything else signed or shaped wrong, inactive."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.databases import Databases, both_backends
from tests.flow import introspect, logged_in, post_form
from tests.harness import AuthServer, start_auth_server
from tests.legacy_jwts import LEGACY_SECRET, import_records, legacy_jwt, record

pytestmark = both_backends


@pytest.fixture
def server(databases: Databases) -> Iterator[AuthServer]:
    with start_auth_server(databases, legacy_token_secret=LEGACY_SECRET) as started:
        yield started


def _active(server: AuthServer, token: str) -> bool:
    response = introspect(server, token)
    assert response.status_code == 200, response.text
    active: bool = response.json()["active"]
    return active


def test_records_import_and_their_jwts_introspect_while_live(
    server: AuthServer, tmp_path: Path
) -> None:
    patient = server.account()
    staff = server.account("staff")
    report = import_records(server, tmp_path / "tokens.jsonl", [
        record("tok-1", patient.email.upper(), scopes="read:data read:bookings"),
        record("tok-2", patient.email, revoked=True),
        record("tok-3", patient.email, expiresAt=server.clock() - 1),
        record("tok-4", "nobody@hospiai.test"),
        record("tok-5", patient.email, scopes=["write:data"]),
        record("tok-6", patient.email, scopes=["no:such"]),
        record("tok-7", patient.email, expiresAt="next week"),
        record("tok-1", patient.email),
        record("tok-8", staff.email, scopes="read:data,write:data", expiresAt="2999-01-01"),
        record("tok-9", patient.email, revoked="perhaps"),
        '{"id": "tok-10"}',
    ])
    assert report.counts == {
        "created": 2, "unchanged": 0, "revoked": 0, "skipped": 2, "rejected": 7
    }
    reasons = dict(report.refused)
    assert "no account has the email" in reasons[4]
    assert "cannot hold: write:data" in reasons[5] and "unknown scopes: no:such" in reasons[6]
    assert "ISO 8601" in reasons[7] and "same id as line 1" in reasons[8]
    assert "revoked must be" in reasons[10] and "user is missing" in reasons[11]

    answer = introspect(server, legacy_jwt("tok-1")).json()
    assert answer["active"] is True and answer["sub"] == patient.id
    assert answer["scope"] == "read:data read:bookings" and answer["aud"] == server.resource
    assert _active(server, legacy_jwt("tok-8"))
    for refused in ("tok-2", "tok-3", "tok-4", "tok-10"):
        assert not _active(server, legacy_jwt(refused))


# One server for all of them: what is refused is the token, whatever the database holds.
BAD_TOKENS = [
    legacy_jwt("tok-1", secret="another-secret-of-the-same-plausible-length!"),
    legacy_jwt("tok-1", alg="HS512"),
    legacy_jwt("tok-1", exp=1_000_000_000),  # the JWT expired, its record did not
    legacy_jwt("tok-1", exp=None),  # no exp at all
    legacy_jwt(None, sub="tok-1"),  # no id claim
    legacy_jwt(1, exp=None),
    "eyJhbGciOiJub25lIn0.eyJqdGkiOiJ0b2stMSIsImV4cCI6MzI1MDM2ODAwMDB9.",  # alg none
    "legacy:tok-1",  # the stored key, presented as if it were a token
    "a.b.c",
]


def test_anything_but_a_good_signature_and_exp_is_inactive(
    server: AuthServer, tmp_path: Path
) -> None:
    import_records(server, tmp_path / "t.jsonl", [record("tok-1", server.account().email)])
    assert _active(server, legacy_jwt("tok-1"))
    assert [token for token in BAD_TOKENS if _active(server, token)] == []


def test_without_the_legacy_secret_legacy_tokens_are_refused(
    auth_server: AuthServer, tmp_path: Path
) -> None:
    email = auth_server.account().email
    import_records(auth_server, tmp_path / "t.jsonl", [record("tok-1", email)])
    assert not _active(auth_server, legacy_jwt("tok-1"))


def test_listed_and_revoked_on_the_account_page(server: AuthServer, tmp_path: Path) -> None:
    account = server.account()
    import_records(server, tmp_path / "t.jsonl", [
        record("tok-1", account.email, name="My old assistant token")
    ])
    with logged_in(server, account.email) as browser:
        page = browser.get("/account").text
        assert "My old assistant token" in page and "imported" in page
        [(grant, _token)] = server.store.personal_tokens(account.id, server.clock())
        revoked = post_form(browser, "/account", f"/account/grants/{grant.id}/revoke")
        assert revoked.status_code == 303
    assert not _active(server, legacy_jwt("tok-1"))


def test_importing_again_changes_nothing_but_a_revocation(
    server: AuthServer, tmp_path: Path
) -> None:
    email = server.account().email
    path = tmp_path / "t.jsonl"
    first = import_records(server, path, [record("tok-1", email), record("tok-2", email)])
    assert first.counts["created"] == 2
    dry = import_records(server, path, [record("tok-1", email, revoked=True)], dry_run=True)
    assert dry.counts["revoked"] == 1 and _active(server, legacy_jwt("tok-1"))
    again = import_records(server, path, [
        record("tok-1", email, revoked="true"), record("tok-2", email, name="Renamed"),
    ])
    counts = again.counts
    assert (counts["revoked"], counts["unchanged"], counts["created"]) == (1, 1, 0)
    assert not _active(server, legacy_jwt("tok-1")) and _active(server, legacy_jwt("tok-2"))
    events = server.store.audit_events(event="tokens.imported")
    assert [event.detail["revoked"] for event in events] == [1, 0]

"""`hospiai accounts import`: HospiAI's accounts with the password hashes it stores, logged in
with the same passwords and re-hashed to argon2id then; bad rows refused by line, re-runs idle."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from authserver.audit import Audit
from authserver.imports import Report
from authserver.imports.accounts import import_accounts
from authserver.security import PASSWORDS
from shared.metrics import Metrics
from tests.databases import Databases, both_backends
from tests.flow import logged_in
from tests.harness import PASSWORD, AuthServer, start_auth_server
from tests.legacy_hashes import legacy_hashes

pytestmark = both_backends


def _run(server: AuthServer, path: Path, *, dry_run: bool = False) -> Report:
    audit = Audit(server.store, server.clock, Metrics("authserver"))
    return import_accounts(server.store, audit, path, now=server.clock(), dry_run=dry_run)


def _csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _row(email: str, password_hash: str, **extra: str) -> dict[str, str]:
    return {
        "email": email, "firstname": "Alice", "surname": "Martin", "phoneNumber": "+33 1 02",
        "role": "patient", "password_hash": password_hash, **extra,
    }


def test_every_format_logs_in_with_its_password_then_is_argon2id(
    databases: Databases, tmp_path: Path
) -> None:
    # At the production cost, not the tests' cheaper one: the re-hash is to our parameters.
    with start_auth_server(databases, passwords=PASSWORDS) as server:
        _every_format_logs_in_then_is_argon2id(server, tmp_path)


def _every_format_logs_in_then_is_argon2id(auth_server: AuthServer, tmp_path: Path) -> None:
    hashes = legacy_hashes(PASSWORD)
    path = _csv(tmp_path / "users.csv", [
        _row(f"{name}@hospiai.test", password_hash) for name, password_hash in hashes.items()
    ])
    report = _run(auth_server, path)
    assert report.counts == {"created": len(hashes), "unchanged": 0, "rejected": 0}
    for name, password_hash in hashes.items():
        account = auth_server.store.account_by_email(f"{name}@hospiai.test")
        assert account is not None and account.password_hash == password_hash
        assert (account.given_name, account.family_name, account.phone) == (
            "Alice", "Martin", "+33 1 02"
        )
        with logged_in(auth_server, account.email):
            pass
        upgraded = auth_server.store.account(account.id)
        assert upgraded is not None
        assert upgraded.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
        assert not PASSWORDS.needs_rehash(upgraded.password_hash)
    with logged_in(auth_server, "bcrypt-2b@hospiai.test"):  # the same password, the new hash
        pass


def test_a_failed_login_leaves_the_imported_hash(auth_server: AuthServer, tmp_path: Path) -> None:
    password_hash = legacy_hashes(PASSWORD)["bcrypt-2b"]
    _run(auth_server, _csv(tmp_path / "users.csv", [_row("kept@hospiai.test", password_hash)]))
    with auth_server.http() as browser:
        first = browser.get("/login")
        page = browser.get(first.headers["location"])
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        refused = browser.post("/login", data={
            "email": "kept@hospiai.test", "password": "not-the-password", "csrf_token": token,
        })
    assert refused.status_code == 401
    account = auth_server.store.account_by_email("kept@hospiai.test")
    assert account is not None and account.password_hash == password_hash


def test_bad_rows_are_reported_by_line_and_the_others_imported(
    auth_server: AuthServer, tmp_path: Path
) -> None:
    good = legacy_hashes(PASSWORD)["bcrypt-2b"]
    lines = [
        json.dumps(_row("first@hospiai.test", good)),
        "{not json",
        json.dumps(_row("not-an-email", good)),
        "",
        json.dumps(_row("nohash@hospiai.test", "")),
        json.dumps(_row("md5@hospiai.test", "5f4dcc3b5aa765d61d8327deb882cf99")),
        json.dumps(_row("role@hospiai.test", good, role="superuser")),
        json.dumps(_row("FIRST@hospiai.test", good)),
        json.dumps(["a", "list"]),
        json.dumps(_row("nul@hospiai.test", good, firstname="Al\x00ice")),
        json.dumps(_row("last@hospiai.test", good)),
    ]
    path = tmp_path / "users.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = _run(auth_server, path)
    assert report.counts == {"created": 2, "unchanged": 0, "rejected": 8}
    reasons = dict(report.refused)
    assert sorted(reasons) == [2, 3, 5, 6, 7, 8, 9, 10]
    assert "not a JSON object" in reasons[2] and "not an email address" in reasons[3]
    assert "password_hash is missing" in reasons[5] and "no format" in reasons[6]
    assert "role must be one of" in reasons[7] and "same email as line 1" in reasons[8]
    assert "plausible" in reasons[10]
    for email in ("first@hospiai.test", "last@hospiai.test"):
        assert auth_server.store.account_by_email(email) is not None
    assert auth_server.store.account_by_email("role@hospiai.test") is None


def test_a_rerun_changes_nothing_and_each_run_is_one_audit_event(
    auth_server: AuthServer, tmp_path: Path
) -> None:
    existing = auth_server.account()
    good = legacy_hashes(PASSWORD)["werkzeug-pbkdf2"]
    path = _csv(tmp_path / "users.csv", [
        _row(" Mixed.Case@HospiAI.test ", good),
        # An account that exists already keeps its own password and names.
        _row(existing.email.upper(), good, firstname="Someone", surname="Else"),
    ])
    assert _run(auth_server, path).counts == {"created": 1, "unchanged": 1, "rejected": 0}
    created = auth_server.store.account_by_email("mixed.case@hospiai.test")
    assert created is not None and created.email == "Mixed.Case@HospiAI.test"
    with logged_in(auth_server, "MIXED.case@hospiai.test"):  # as the login page looks it up
        pass
    assert _run(auth_server, path).counts == {"created": 0, "unchanged": 2, "rejected": 0}
    kept = auth_server.store.account(existing.id)
    assert kept is not None and kept.password_hash == existing.password_hash
    assert kept.given_name == "Alice"
    events = auth_server.store.audit_events(event="accounts.imported")
    assert [event.detail for event in events] == [
        {"file": "users.csv", "created": 0, "unchanged": 2, "rejected": 0},
        {"file": "users.csv", "created": 1, "unchanged": 1, "rejected": 0},
    ]


def test_a_dry_run_reports_and_changes_nothing(auth_server: AuthServer, tmp_path: Path) -> None:
    good = legacy_hashes(PASSWORD)["django-pbkdf2"]
    path = _csv(tmp_path / "users.csv", [
        _row("new@hospiai.test", good), _row("bad", good), _row("NEW@hospiai.test", good),
    ])
    report = _run(auth_server, path, dry_run=True)
    assert report.counts == {"created": 1, "unchanged": 0, "rejected": 2}
    assert [line for line, _ in report.refused] == [3, 4]
    assert auth_server.store.account_by_email("new@hospiai.test") is None
    assert auth_server.store.audit_events(event="accounts.imported") == []


@pytest.mark.parametrize("name", ["users.txt", "users.csv"])
def test_csv_is_read_by_name_or_by_its_first_character(
    auth_server: AuthServer, tmp_path: Path, name: str
) -> None:
    good = legacy_hashes(PASSWORD)["bcrypt-2y"]
    path = tmp_path / name
    path.write_text(
        "email,given_name,family_name,password_hash\n"
        f'"multi@hospiai.test","Jean\nPierre",Dupont,{good}\n'
        "broken-row-without-email,,,\n",
        encoding="utf-8",
    )
    report = _run(auth_server, path)
    assert report.counts == {"created": 1, "unchanged": 0, "rejected": 1}
    # The quoted value spans two lines: the next row starts on line 4.
    assert report.refused[0][0] == 4

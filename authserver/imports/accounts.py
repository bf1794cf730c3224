"""`hospiai accounts import`: HospiAI's accounts with their password hashes as stored, so that
nobody resets a password; a hash that is not our argon2id is replaced at the next login."""

from __future__ import annotations

from pathlib import Path

from authserver.audit import Audit
from authserver.imports import BadRow, Report, Row, read_items
from authserver.models import Account
from authserver.provisioning import new_account
from authserver.security import is_password_hash
from authserver.store import Store


def import_accounts(
    store: Store, audit: Audit, path: Path, *, now: int, dry_run: bool = False
) -> Report:
    """Create the accounts of a file that do not exist yet (by email, as login finds them):
    an existing account is never changed, so a second run changes nothing. One audit event
    for the whole run, with its counts; none for a dry run, which changes nothing."""
    report = Report({"created": 0, "unchanged": 0, "rejected": 0})
    accounts = read_items(
        path, report, lambda row: _account(row, now), lambda account: account.email_key, "email"
    )
    for account in accounts:
        if store.account_by_email(account.email_key) is not None:
            report.count("unchanged")
            continue
        if not dry_run:
            store.add_account(account)
        report.count("created")
    if not dry_run:
        counts = report.counts
        audit.record(
            "accounts.imported", file=path.name, created=counts["created"],
            unchanged=counts["unchanged"], rejected=counts["rejected"],
        )
    return report


def _account(row: Row, now: int) -> Account:
    password_hash = row.text("password_hash", "password", required=True)
    if not is_password_hash(password_hash):
        raise BadRow("the password hash is in no format this server reads (see README)")
    return new_account(
        email=row.text("email", required=True),
        password_hash=password_hash,
        given_name=row.text("given_name", "firstname"),
        family_name=row.text("family_name", "surname"),
        phone=row.text("phone", "phoneNumber") or None,
        role=row.text("role") or "patient",
        now=now,
    )

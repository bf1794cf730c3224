"""`hospiai tokens import`: the records of the tokens HospiAI issued before the move (id, user,
name, scopes, expiry, revoked), so that a pasted token keeps working until it expires or is
revoked. Each becomes a personal access token of its account (authserver/legacy.py)."""

from __future__ import annotations

import datetime
from pathlib import Path

from authserver.audit import Audit
from authserver.imports import BadRow, Report, Row, read_items
from authserver.legacy import record_key
from authserver.models import PERSONAL_CLIENT_ID, AccessToken, Grant
from authserver.personal_tokens import MAX_NAME_LENGTH, token_scopes
from authserver.security import new_id
from authserver.store import Store
from shared import scopes

# What /account lists instead of a token's first characters, which were never kept.
LISTED_AS = "imported"
_YEAR_3000 = 32503680000
_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no", ""}


def import_tokens(
    store: Store, audit: Audit, path: Path, *, resource: str, now: int, dry_run: bool = False
) -> Report:
    """Store each live record not imported yet, for ``resource`` (the audience the tokens were
    used at); a revoked or expired one is skipped. A record imported before is left alone,
    unless the file now says it is revoked: then it is revoked here too, so importing again
    just before the switch catches up."""
    report = Report({"created": 0, "unchanged": 0, "revoked": 0, "skipped": 0, "rejected": 0})
    records = read_items(
        path, report, lambda row: _record(store, row, resource, now),
        lambda record: record[1].token_hash, "id",
    )
    for grant, token in records:
        report.count(_import_one(store, grant, token, now, dry_run))
    if not dry_run:
        counts = report.counts
        audit.record(
            "tokens.imported", file=path.name, resource=resource, created=counts["created"],
            unchanged=counts["unchanged"], revoked=counts["revoked"], skipped=counts["skipped"],
            rejected=counts["rejected"],
        )
    return report


def _import_one(
    store: Store, grant: Grant, token: AccessToken, now: int, dry_run: bool
) -> str:
    """What importing one record did (or would do): its count in the report."""
    existing = store.access_token(token.token_hash)
    if existing is not None:
        return _catch_up(store, existing.grant_id, grant, now, dry_run)
    if token.expires_at <= now or grant.revoked_at is not None:
        return "skipped"  # dead already: nothing to keep working
    if not dry_run:
        store.issue_personal_token(grant, token)
    return "created"


def _catch_up(store: Store, grant_id: str, record: Grant, now: int, dry_run: bool) -> str:
    """A record imported before is left alone, unless the file now says it is revoked and the
    grant it became is still live: then that grant is revoked too."""
    live = store.grant(grant_id)
    if record.revoked_at is None or live is None or live.revoked_at is not None:
        return "unchanged"
    if not dry_run:
        store.revoke_grant(grant_id, now)
    return "revoked"


def _record(store: Store, row: Row, resource: str, now: int) -> tuple[Grant, AccessToken]:
    record_id = row.text("id", "token_id", "tokenId", required=True)
    email = row.text("user", "email", required=True)
    account = store.account_by_email(email)
    if account is None:
        raise BadRow(f"no account has the email {email!r} (import the accounts first)")
    wanted = _scopes(row)
    allowed = {scope.name for scope in token_scopes(account.role)}
    if not wanted or not set(wanted) <= allowed:
        beyond = " ".join(sorted(set(wanted) - allowed)) or "none given"
        raise BadRow(f"scopes a {account.role}'s personal token cannot hold: {beyond}")
    name = row.text("name") or "Imported token"
    if len(name) > MAX_NAME_LENGTH:
        raise BadRow(f"the name is longer than {MAX_NAME_LENGTH} characters")
    grant = Grant(
        id=new_id("grant"), account_id=account.id, client_id=PERSONAL_CLIENT_ID,
        scope=scopes.join(wanted), resource=resource, created_at=now, name=name,
        token_prefix=LISTED_AS, revoked_at=now if _revoked(row) else None,
    )
    token = AccessToken(
        token_hash=record_key(record_id), grant_id=grant.id, client_id=PERSONAL_CLIENT_ID,
        account_id=account.id, scope=grant.scope, resource=resource, issued_at=now,
        expires_at=_expiry(row.text("expires_at", "expiresAt", required=True)),
        revoked_at=grant.revoked_at,
    )
    return grant, token


def _scopes(row: Row) -> list[str]:
    value = row.fields.get("scopes", row.fields.get("scope"))
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        names = [str(item) for item in value]
    else:
        names = row.text("scopes", "scope").replace(",", " ").split()
    unknown = sorted(set(names) - set(scopes.NAMES))
    if unknown:
        raise BadRow(f"unknown scopes: {' '.join(unknown)[:200]}")
    return list(dict.fromkeys(names))


def _expiry(text: str) -> int:
    """Unix seconds, or an ISO 8601 time (UTC unless it says otherwise), before the year 3000."""
    if text.isdigit():
        seconds = int(text) if len(text) <= 12 else 0
    else:
        try:
            moment = datetime.datetime.fromisoformat(text)
        except ValueError:
            raise BadRow("expires_at must be an ISO 8601 time or Unix seconds") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.UTC)
        seconds = int(moment.timestamp())
    if not 0 < seconds < _YEAR_3000:
        raise BadRow("expires_at is not a time before the year 3000")
    return seconds


def _revoked(row: Row) -> bool:
    value = row.fields.get("revoked")
    if isinstance(value, bool):
        return value
    text = row.text("revoked").lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise BadRow("revoked must be true or false")

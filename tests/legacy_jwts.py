"""Tokens as HospiAI's web application signed them before the move (HS256, its secret)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.jwk import OctKey

from authserver.audit import Audit
from authserver.imports import Report
from authserver.imports.tokens import import_tokens
from shared.metrics import Metrics
from tests.harness import AuthServer

LEGACY_SECRET = "the-web-application-signing-secret-of-hospiai"


def legacy_jwt(
    record_id: object, *, secret: str = LEGACY_SECRET, alg: str = "HS256", **claims: Any
) -> str:
    """A token for the record ``record_id``, valid for a day unless ``claims`` say otherwise."""
    payload: dict[str, Any] = {"jti": record_id, "exp": int(time.time()) + 86400, **claims}
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode({"alg": alg}, payload, OctKey.import_key(secret), algorithms=[alg])


def record(record_id: str, email: str, **fields: object) -> dict[str, object]:
    return {
        "id": record_id, "user": email, "name": "Claude desktop", "scopes": ["read:data"],
        "expiresAt": "2999-01-01T00:00:00Z", "revoked": False, **fields,
    }


def import_records(
    server: AuthServer, path: Path, records: list[dict[str, object] | str], *,
    dry_run: bool = False,
) -> Report:
    """Write ``records`` as JSON lines (a str is written as it is) and import them."""
    lines = [line if isinstance(line, str) else json.dumps(line) for line in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    audit = Audit(server.store, server.clock, Metrics("authserver"))
    return import_tokens(
        server.store, audit, path, resource=server.resource, now=server.clock(), dry_run=dry_run
    )

"""HTTP details both services share."""

from __future__ import annotations

from starlette.requests import ClientDisconnect
from starlette.types import Receive

# Answers that carry tokens or account state are never cached (RFC 6749 section 5.1).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None once it grows past ``limit`` bytes. A client that goes
    away mid-body raises ClientDisconnect: half a request is never acted on."""
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        body += chunk
        if len(body) > limit:
            return None
        if not message.get("more_body", False):
            return body

"""Passkey challenges: issued into a signed cookie of the browser that asked (bound to its
browser id, to what the challenge is for and, once known, to the account), and used once,
server-side, by an insert whose primary key decides (store.use_challenge), on any number of
replicas. An answer to a challenge that was answered before, or issued to another browser,
account or ceremony, is refused."""

from __future__ import annotations

import base64
import hmac
import secrets
from collections.abc import Callable
from typing import Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from authserver.context import Context
from authserver.passkeys import TIMEOUT_MS
from authserver.web.session import browser_id, set_cookie, sign, signed_cookie
from shared.http import NO_STORE

Purpose = Literal["register", "sign_in", "second_factor"]
# The browser's time to answer, and a little more for the form to arrive (seconds).
CHALLENGE_SECONDS = TIMEOUT_MS // 1000 + 60


def _cookie(purpose: Purpose) -> str:
    # One cookie per ceremony: signing in on one tab does not spend another tab's enrolment.
    return f"hospiai_passkey_{purpose}"


def options_response(
    context: Context, request: Request, purpose: Purpose, options: Callable[[bytes], str],
    account_id: str = "",
) -> Response:
    """The JSON ``options`` of a new challenge, the challenge set in this browser's cookie for
    ``purpose``; 403 without a browser id (the page that posts here sets one)."""
    bid = browser_id(context, request)
    if bid is None:
        return JSONResponse({"error": "Reload the page and try again."}, 403, headers=NO_STORE)
    challenge = secrets.token_bytes(32)
    claims = {
        "c": base64.urlsafe_b64encode(challenge).decode(),
        "a": account_id,
        "b": context.keys.browser_binding(bid),
        "t": context.clock(),
    }
    response = Response(options(challenge), media_type="application/json", headers=NO_STORE)
    name = _cookie(purpose)
    set_cookie(context, response, name, sign(context, name, claims), CHALLENGE_SECONDS)
    return response


def take(
    context: Context, request: Request, purpose: Purpose, account_id: str = ""
) -> bytes | None:
    """The challenge this browser was issued for ``purpose`` (and ``account_id``), used now:
    None if there is none, it expired, it is another's, or it was used before (its cookie,
    left to expire, is then worth nothing)."""
    name = _cookie(purpose)
    claims = signed_cookie(context, request, name, CHALLENGE_SECONDS)
    bid = browser_id(context, request)
    if not isinstance(claims, dict) or bid is None:
        return None
    issued, encoded = claims.get("t"), claims.get("c")
    if not isinstance(issued, int) or not isinstance(encoded, str):
        return None
    # The injected clock decides expiry too (the signature's own age is real time).
    now = context.clock()
    if not (now - CHALLENGE_SECONDS <= issued <= now):
        return None
    if claims.get("a") != account_id or not hmac.compare_digest(
        str(claims.get("b")), context.keys.browser_binding(bid)
    ):
        return None
    challenge = base64.urlsafe_b64decode(encoded)
    first = context.store.use_challenge(
        context.keys.hash_secret(encoded), now, issued + CHALLENGE_SECONDS
    )
    return challenge if first else None

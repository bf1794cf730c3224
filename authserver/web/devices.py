"""The known-device cookie (OWASP Authentication Cheat Sheet, "device cookies"): set by a
successful login, signed and long-lived, it names the emails that logged in on this browser
(by their throttling key, not the address) and a random id of the browser. It holds no secret:
it only lets login throttling count this browser's failures for those emails on their own,
so failures from elsewhere never lock the owner out (authserver.throttle)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from authserver.context import Context
from authserver.web.session import set_cookie, sign, signed_cookie

DEVICE = "hospiai_device"
# The most recent accounts a browser remembers (a shared family computer has a few).
MAX_ACCOUNTS = 5


@dataclass(frozen=True)
class KnownDevice:
    id: str
    email_keys: tuple[str, ...]


def _known(context: Context, request: Request) -> KnownDevice | None:
    data = signed_cookie(context, request, DEVICE, context.settings.known_device_ttl)
    if not isinstance(data, dict):
        return None
    device, keys = data.get("id"), data.get("keys")
    if not isinstance(device, str) or not isinstance(keys, list):
        return None
    return KnownDevice(device, tuple(key for key in keys if isinstance(key, str)))


def device_for(context: Context, request: Request, email: str) -> str | None:
    """This browser's device id, if its cookie is ours and names this email (as typed, in any
    case); None for a forged cookie, an expired one, or one for other emails."""
    known = _known(context, request)
    if known is None or context.keys.login_key(email.lower()) not in known.email_keys:
        return None
    return known.id


def remember_device(context: Context, request: Request, response: Response, email: str) -> None:
    """After a successful login: this browser is a known device for this email from now on."""
    known = _known(context, request)
    key = context.keys.login_key(email.lower())
    kept = [other for other in known.email_keys if other != key] if known else []
    value = {
        "id": known.id if known else secrets.token_urlsafe(16),
        "keys": [key, *kept][:MAX_ACCOUNTS],
    }
    set_cookie(context, response, DEVICE, sign(context, DEVICE, value),
               context.settings.known_device_ttl)

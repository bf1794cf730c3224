"""Browser state in cookies: a random browser id (CSRF and interaction binding) and the signed
login session. Neither cookie holds a secret: the session is a signed account id and time."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from authserver.context import Context
from authserver.models import Account, Interaction


@dataclass(frozen=True)
class LoginSession:
    account: Account
    auth_time: int


def _name(context: Context, base: str) -> str:
    # The __Host- prefix pins a secure cookie to this exact host and path "/".
    return f"__Host-{base}" if context.settings.secure_cookies else base


def _serializer(context: Context) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(context.keys.cookie_secret, salt="hospiai-session")


def _set_cookie(context: Context, response: Response, base: str, value: str) -> None:
    response.set_cookie(
        _name(context, base),
        value,
        max_age=context.settings.session_ttl,
        path="/",
        httponly=True,
        samesite="lax",
        secure=context.settings.secure_cookies,
    )


def client_ip(request: Request) -> str | None:
    """The browser's address (behind a proxy, as uvicorn's --forwarded-allow-ips resolves it)."""
    return request.client.host if request.client else None


def browser_id(context: Context, request: Request) -> str | None:
    return request.cookies.get(_name(context, "hospiai_browser"))


def ensure_browser_id(context: Context, request: Request, response: Response) -> str:
    """The browser id, creating the cookie on the response if the browser has none yet."""
    existing = browser_id(context, request)
    if existing:
        return existing
    created = secrets.token_urlsafe(32)
    _set_cookie(context, response, "hospiai_browser", created)
    return created


def bound_to_browser(context: Context, request: Request, interaction: Interaction) -> bool:
    """Whether this browser is the one that started the authorization request."""
    bid = browser_id(context, request)
    return bid is not None and hmac.compare_digest(
        context.keys.browser_binding(bid), interaction.browser_binding
    )


def csrf_token(context: Context, request: Request) -> str:
    return context.keys.csrf_token(browser_id(context, request) or "")


def check_csrf(context: Context, request: Request, token: str | None) -> bool:
    return context.keys.check_csrf(browser_id(context, request), token)


def start_session(context: Context, response: Response, account: Account, now: int) -> None:
    value = _serializer(context).dumps({"sub": account.id, "auth_time": now})
    _set_cookie(context, response, "hospiai_session", value)


def end_session(context: Context, response: Response) -> None:
    response.delete_cookie(
        _name(context, "hospiai_session"),
        path="/",
        httponly=True,
        samesite="lax",
        secure=context.settings.secure_cookies,
    )


def current_session(context: Context, request: Request) -> LoginSession | None:
    """The logged-in account, if the cookie is valid and the account still active."""
    raw = request.cookies.get(_name(context, "hospiai_session"))
    if not raw:
        return None
    try:
        data = _serializer(context).loads(raw, max_age=context.settings.session_ttl)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("sub"), str):
        return None
    account = context.store.account(data["sub"])
    if account is None or account.disabled:
        return None
    return LoginSession(account, int(data.get("auth_time", 0)))

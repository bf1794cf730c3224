"""Browser state in cookies: a random browser id (CSRF and interaction binding) and the signed
login session. Neither cookie holds a secret: the session is a signed account id and time."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from authserver.context import AppContext
from authserver.models import Account, Interaction


@dataclass(frozen=True)
class LoginSession:
    account: Account
    auth_time: int


def _name(context: AppContext, base: str) -> str:
    # The __Host- prefix pins a secure cookie to this exact host and path "/".
    return f"__Host-{base}" if context.oauth.settings.secure_cookies else base


def _serializer(context: AppContext) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(context.oauth.keys.cookie_secret, salt="hospiai-session")


def _set_cookie(context: AppContext, response: Response, base: str, value: str) -> None:
    response.set_cookie(
        _name(context, base),
        value,
        max_age=context.oauth.settings.session_ttl,
        path="/",
        httponly=True,
        samesite="lax",
        secure=context.oauth.settings.secure_cookies,
    )


def client_ip(request: Request) -> str | None:
    """The browser's address (behind a proxy, as uvicorn's --forwarded-allow-ips resolves it)."""
    return request.client.host if request.client else None


def browser_id(context: AppContext, request: Request) -> str | None:
    return request.cookies.get(_name(context, "hospiai_browser"))


def ensure_browser_id(context: AppContext, request: Request, response: Response) -> str:
    """The browser id, creating the cookie on the response if the browser has none yet."""
    existing = browser_id(context, request)
    if existing:
        return existing
    created = secrets.token_urlsafe(32)
    _set_cookie(context, response, "hospiai_browser", created)
    return created


def bound_to_browser(context: AppContext, request: Request, interaction: Interaction) -> bool:
    """Whether this browser is the one that started the authorization request."""
    bid = browser_id(context, request)
    return bid is not None and hmac.compare_digest(
        context.oauth.keys.browser_binding(bid), interaction.browser_binding
    )


def csrf_token(context: AppContext, request: Request) -> str:
    return context.oauth.keys.csrf_token(browser_id(context, request) or "")


def check_csrf(context: AppContext, request: Request, token: str | None) -> bool:
    return context.oauth.keys.check_csrf(browser_id(context, request), token)


def start_session(context: AppContext, response: Response, account: Account, now: int) -> None:
    value = _serializer(context).dumps({"sub": account.id, "auth_time": now})
    _set_cookie(context, response, "hospiai_session", value)


def end_session(context: AppContext, response: Response) -> None:
    response.delete_cookie(
        _name(context, "hospiai_session"),
        path="/",
        httponly=True,
        samesite="lax",
        secure=context.oauth.settings.secure_cookies,
    )


def current_session(context: AppContext, request: Request) -> LoginSession | None:
    """The logged-in account, if the cookie is valid and the account still active."""
    raw = request.cookies.get(_name(context, "hospiai_session"))
    if not raw:
        return None
    try:
        data = _serializer(context).loads(raw, max_age=context.oauth.settings.session_ttl)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("sub"), str):
        return None
    account = context.oauth.store.account(data["sub"])
    if account is None or account.disabled:
        return None
    return LoginSession(account, int(data.get("auth_time", 0)))

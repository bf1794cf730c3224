"""Logging in: checking a password, and the standalone login page for the account pages."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authserver.context import get_context
from authserver.interactions.browser import (
    client_ip,
    browser_id,
    end_session,
    ensure_browser_id,
    start_session,
)
from authserver.interactions.pages import checked_form, form_field, login_page
from authserver.models import Account
from authserver.security import verify_password

BAD_LOGIN = "The email or password is incorrect, or the account is disabled."
ACCOUNT_INTRO = "Log in to manage your HospiAI account."


async def authenticate(request: Request, email: str, password: str) -> Account | None:
    """The active account with this email and password; an unknown email costs the same."""
    context = get_context(request)
    account = await run_in_threadpool(context.oauth.store.account_by_email, email)
    valid = await run_in_threadpool(
        verify_password, account.password_hash if account else None, password
    )
    ok = account is not None and valid and not account.disabled
    await run_in_threadpool(
        context.oauth.audit.record,
        "login.succeeded" if ok else "login.failed",
        actor=account.id if account is not None and ok else None,
        ip=client_ip(request),
        # What was typed, only if it looks like an address (never a password in the wrong box).
        email=email[:320] if "@" in email else "(not an email address)",
    )
    return account if ok else None


def local_path(value: str | None, default: str = "/account") -> str:
    """Where to go after logging in: a path on this server only, never another site."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else default


def login_url(next_page: str | None) -> str:
    return f"/login?{urlencode({'next': local_path(next_page)})}"


async def show(request: Request) -> Response:
    context = get_context(request)
    if browser_id(context, request) is None:
        # The CSRF token is bound to the browser id: set it, then come back.
        response = RedirectResponse(login_url(request.query_params.get("next")), 303)
        ensure_browser_id(context, request, response)
        return response
    return login_page(request, login_url(request.query_params.get("next")), ACCOUNT_INTRO)


async def login(request: Request) -> Response:
    context = get_context(request)
    form = await checked_form(request)
    if isinstance(form, Response):
        return form
    next_page = local_path(request.query_params.get("next"))
    email = form_field(form.get("email")) or ""
    account = await authenticate(request, email, form_field(form.get("password")) or "")
    if account is None:
        return login_page(
            request, login_url(next_page), ACCOUNT_INTRO, error=BAD_LOGIN, email=email
        )
    response = RedirectResponse(next_page, status_code=303)
    start_session(context, response, account, context.oauth.clock())
    return response


async def logout(request: Request) -> Response:
    form = await checked_form(request)
    if isinstance(form, Response):
        return form
    response = RedirectResponse("/login", status_code=303)
    end_session(get_context(request), response)
    return response

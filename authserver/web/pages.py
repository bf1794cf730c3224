"""Rendering pages: every page gets the CSRF token; errors are pages that never redirect, and a
page that needs a login raises LoginRequired."""

from __future__ import annotations

import datetime
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authserver.context import get_context
from authserver.web.paths import login_url
from authserver.web.session import check_csrf, csrf_token
from shared.clock import PARIS


def render(request: Request, template: str, status_code: int = 200, **values: Any) -> Response:
    context = get_context(request)
    return context.templates.TemplateResponse(
        request,
        template,
        {"csrf_token": csrf_token(context, request), **values},
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


def error_page(request: Request, title: str, message: str, status_code: int = 400) -> Response:
    return render(request, "error.html", status_code, title=title, message=message)


class PageError(Exception):
    """Raised by a page or the authorization endpoint: the app's one handler shows the error
    page (never a redirect, so never to an unverified redirect URI)."""

    def __init__(self, title: str, message: str, status_code: int = 400) -> None:
        super().__init__(title)
        self.title = title
        self.message = message
        self.status_code = status_code


async def show_page_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    return error_page(request, exc.title, exc.message, exc.status_code)


class LoginRequired(Exception):
    """Raised by a page that needs a (recent) login: the one handler sends the browser to the
    login page, which brings it back to ``next_page``."""

    def __init__(self, next_page: str) -> None:
        super().__init__(next_page)
        self.next_page = next_page


async def send_to_login(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(login_url(exc.next_page), status_code=303)


def form_field(value: object) -> str | None:
    """A text form field; uploads and NUL characters (refused by PostgreSQL) count as absent."""
    return value if isinstance(value, str) and "\x00" not in value else None


def show_time(unix_time: int | None) -> str:
    """A stored unix time as the hospital's users read it (Europe/Paris)."""
    if unix_time is None:
        return "never"
    moment = datetime.datetime.fromtimestamp(unix_time, PARIS)
    return moment.strftime("%d %b %Y, %H:%M")


async def checked_form(request: Request) -> FormData:
    """The posted form, read once, if its CSRF token is this browser's; else PageError."""
    form = await request.form()
    if check_csrf(get_context(request), request, form_field(form.get("csrf_token"))):
        return form
    raise PageError("This form has expired", "Reload the page and try again.", 403)


def login_page(
    request: Request,
    action: str,
    intro: str,
    *,
    error: str | None = None,
    email: str = "",
    status_code: int | None = None,
) -> Response:
    return render(
        request,
        "login.html",
        status_code=status_code or (401 if error else 200),
        action=action,
        intro=intro,
        error=error,
        email=email,
    )

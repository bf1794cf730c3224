"""Who may use the admin console, and how an admin change is made: role admin only, with a
recent login (an admin whose login is older than ADMIN_REAUTH_SECONDS logs in again); every
change is a CSRF-checked POST, audited as "admin.<action>"."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authserver.context import Context, get_context
from authserver.messages import _
from authserver.policy import enrolment_required
from authserver.web.pages import (
    EnrolmentRequired,
    LoginRequired,
    PageError,
    checked_form,
    error_page,
)
from authserver.web.paths import local_path, with_next
from authserver.web.session import LoginSession, client_ip, current_session

ADMIN_REAUTH_SECONDS = 15 * 60
# Form fields an admin action's audit event records (never a password).
AUDITED_FIELDS = (
    "blocked", "disabled", "role", "scope", "email", "resource", "name", "hospital_id", "grace",
)

Admin = tuple[Context, LoginSession]


async def factor_page_of(
    request: Request, page: str, default_next: str = "/account"
) -> tuple[Context, LoginSession, str]:
    """The signed-in account on one of its sign-in factor pages (one-time codes, passkeys), and
    the local page to go back to once enrolled (``next``); signed out, the login, then here."""
    context = get_context(request)
    next_page = local_path(request.query_params.get("next"), default_next)
    session = await run_in_threadpool(current_session, context, request)
    if session is None:
        raise LoginRequired(with_next(page, next_page))
    return context, session, next_page


async def admin_of(request: Request) -> Admin:
    context = get_context(request)
    session = await run_in_threadpool(current_session, context, request)
    if session is None or (
        session.account.role == "admin"
        and context.clock() - session.auth_time > ADMIN_REAUTH_SECONDS
    ):
        raise LoginRequired(request.url.path)
    if session.account.role != "admin":
        raise PageError(
            _("Administrators only"), _("This page is for HospiAI administrators."), 403,
            link=("/account", _("Go to your account page")),
        )
    if await run_in_threadpool(
        enrolment_required, context.settings, context.store, session.account
    ):
        raise EnrolmentRequired(request.url.path)
    return context, session


def view(
    page: Callable[[Request, Context], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """An admin page: shown only to an admin with a recent login."""

    async def endpoint(request: Request) -> Response:
        context, _session = await admin_of(request)
        return await page(request, context)

    return endpoint


def action(
    name: str, back: Callable[[Request], str]
) -> Callable[[Callable[[Request, Context, FormData], Awaitable[bool | Response]]],
              Callable[[Request], Awaitable[Response]]]:
    """An admin POST: access and CSRF checked, the change made, audited, then back to a page.
    The change returns False when its target does not exist (404), or a page of its own."""

    def wrap(
        change: Callable[[Request, Context, FormData], Awaitable[bool | Response]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            context, session = await admin_of(request)
            form = await checked_form(request)
            outcome = await change(request, context, form)
            if outcome is False:
                return error_page(request, _("Not found"), _("It no longer exists."), 404)
            if isinstance(outcome, Response) and outcome.status_code >= 400:
                return outcome  # nothing changed, nothing to audit
            values = {key: str(value) for key, value in request.path_params.items()}
            for field in AUDITED_FIELDS:
                given = [value for value in form.getlist(field) if isinstance(value, str)]
                if given:
                    values[field] = " ".join(given)[:200]
            await run_in_threadpool(
                context.audit.record,
                f"admin.{name}",
                actor=session.account.id,
                ip=client_ip(request),
                **values,
            )
            if isinstance(outcome, Response):
                return outcome
            return RedirectResponse(back(request), status_code=303)

        return endpoint

    return wrap

"""The second step of a login: a one-time code from the authenticator app, or a recovery code,
within SECOND_STEP_SECONDS of the right password, or later to step up a live session signed in
with a password alone (RFC 9470: a client asked for a second factor). Throttled like
passwords; every failure is audited."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authserver import one_time_codes
from authserver.context import Context, get_context
from authserver.interactions.login import too_many_attempts
from authserver.throttle import Throttled
from authserver.web.pages import checked_form, form_field, render
from authserver.web.paths import local_path, login_url, second_step_url
from authserver.web.session import LoginSession, client_ip, current_session, due_session
from shared.authentication import ACR_PASSWORD, acr_of

BAD_CODE = "That code is not right, or was used already. Type the newest code from your app."


def _page(
    request: Request, next_page: str, *, error: str | None = None, status_code: int = 200
) -> Response:
    return render(
        request, "second_factor.html", status_code=status_code,
        action=second_step_url(next_page), error=error,
    )


def _finishing(context: Context, request: Request) -> LoginSession | None:
    """The session this step completes: one whose password was right a moment ago, or a live
    one whose sign-in was a password alone (giving a second factor only raises its level)."""
    due = due_session(context, request)
    if due is not None:
        return due
    live = current_session(context, request)
    return live if live is not None and acr_of(live.amr) == ACR_PASSWORD else None


async def show(request: Request) -> Response:
    next_page = local_path(request.query_params.get("next"))
    session = await run_in_threadpool(_finishing, get_context(request), request)
    if session is None:
        return RedirectResponse(login_url(next_page), status_code=303)
    return _page(request, next_page)


async def check(request: Request) -> Response:
    context = get_context(request)
    form = await checked_form(request)
    next_page = local_path(request.query_params.get("next"))
    session = await run_in_threadpool(_finishing, context, request)
    if session is None:
        return RedirectResponse(login_url(next_page), status_code=303)
    ip, now = client_ip(request), context.clock()
    attempt = await run_in_threadpool(
        context.throttle.begin_second_factor, session.account.id, ip, now
    )
    if isinstance(attempt, Throttled):
        await _audit(request, session, "second_factor.throttled", limit=attempt.limit)
        page = _page(request, next_page, error=too_many_attempts(attempt), status_code=429)
        page.headers["Retry-After"] = str(attempt.retry_after)
        return page
    used = await run_in_threadpool(
        one_time_codes.use, context.store, context.keys, session.account,
        form_field(form.get("code")) or "", now,
    )
    if used is None:
        await _audit(request, session, "second_factor.failed")
        return _page(request, next_page, error=BAD_CODE, status_code=401)
    context.throttle.succeeded(attempt)
    await run_in_threadpool(context.store.second_factor_given, session.id, "pwd otp", now)
    await _audit(request, session, "second_factor.succeeded", method=used)
    return RedirectResponse(next_page, status_code=303)


async def _audit(request: Request, session: LoginSession, event: str, **detail: str) -> None:
    context = get_context(request)
    await run_in_threadpool(
        lambda: context.audit.record(
            event, actor=session.account.id, ip=client_ip(request), **detail
        )
    )

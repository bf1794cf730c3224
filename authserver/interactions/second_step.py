"""The second step of a login: a one-time code from the authenticator app, a recovery code, or a
passkey (interactions.passkey_login), within SECOND_STEP_SECONDS of the right password, or later
to step up a live session signed in with one factor (RFC 9470: a client asked for a second
factor). Throttled like passwords; every failure is audited."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authserver import one_time_codes
from authserver.context import get_context
from authserver.interactions import passkey_login
from authserver.interactions.login import too_many_attempts
from authserver.interactions.passkey_login import BAD_PASSKEY, available
from authserver.messages import N_, _
from authserver.throttle import Throttled
from authserver.web.pages import checked_form, form_field, render
from authserver.web.paths import local_path, login_url, second_step_url
from authserver.web.session import LoginSession, client_ip, second_step_session

PASSKEY_OPTIONS = "/login/code/passkey-options"
BAD_CODE = N_("That code is not right, or was used already. Type the newest code from your app.")


async def _page(
    request: Request, session: LoginSession, next_page: str, *, error: str | None = None,
    status_code: int = 200,
) -> Response:
    """The form of each second factor the account has: a code, a passkey, or both."""
    context, account_id = get_context(request), session.account.id
    factor = await run_in_threadpool(context.store.one_time_code_factor, account_id)
    with_passkey = available(context) is not None and bool(
        await run_in_threadpool(context.store.passkeys, account_id)
    )
    return render(
        request, "second_factor.html", status_code=status_code, script=with_passkey,
        action=second_step_url(next_page), error=error,
        codes=factor is not None and factor.confirmed_at is not None,
        passkey_options=PASSKEY_OPTIONS if with_passkey else None,
    )


async def show(request: Request) -> Response:
    next_page = local_path(request.query_params.get("next"))
    session = await run_in_threadpool(second_step_session, get_context(request), request)
    if session is None:
        return RedirectResponse(login_url(next_page), status_code=303)
    return await _page(request, session, next_page)


async def check(request: Request) -> Response:
    context = get_context(request)
    form = await checked_form(request)
    next_page = local_path(request.query_params.get("next"))
    session = await run_in_threadpool(second_step_session, context, request)
    if session is None:
        return RedirectResponse(login_url(next_page), status_code=303)
    ip, now = client_ip(request), context.clock()
    attempt = await run_in_threadpool(
        context.throttle.begin_second_factor, session.account.id, ip, now
    )
    if isinstance(attempt, Throttled):
        await _audit(request, session, "second_factor.throttled", limit=attempt.limit)
        page = await _page(
            request, session, next_page, error=too_many_attempts(attempt), status_code=429
        )
        page.headers["Retry-After"] = str(attempt.retry_after)
        return page
    credential = form_field(form.get("credential"))
    if credential is not None:
        added = await run_in_threadpool(
            passkey_login.second_factor, context, request, session, credential
        )
        used: str | None = "passkey" if added else None
        error = BAD_PASSKEY
    else:
        used = await run_in_threadpool(
            one_time_codes.use, context.store, context.keys, session.account,
            form_field(form.get("code")) or "", now,
        )
        added, error = ("otp",), BAD_CODE
    if used is None or added is None:
        await _audit(request, session, "second_factor.failed")
        return await _page(request, session, next_page, error=_(error), status_code=401)
    context.throttle.succeeded(attempt)
    # The sign-in's methods and the second factor's, each once (RFC 8176).
    amr = " ".join(dict.fromkeys((*session.amr, *added)))
    await run_in_threadpool(context.store.second_factor_given, session.id, amr, now)
    await _audit(request, session, "second_factor.succeeded", method=used)
    return RedirectResponse(next_page, status_code=303)


async def _audit(request: Request, session: LoginSession, event: str, **detail: str) -> None:
    context = get_context(request)
    await run_in_threadpool(
        lambda: context.audit.record(
            event, actor=session.account.id, ip=client_ip(request), **detail
        )
    )

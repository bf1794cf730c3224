"""The account's second factors: enrol an authenticator app (a QR code, then its first code,
then ten recovery codes shown once), and remove it. Every enrolment and removal is audited."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authserver import one_time_codes
from authserver.context import Context, get_context
from authserver.web.pages import LoginRequired, checked_form, error_page, form_field, render
from authserver.web.session import LoginSession, client_ip, current_session

PAGE = "/account/one-time-codes"
WRONG_FIRST_CODE = "That code is not right. Type the code your app shows now."


async def _session(request: Request) -> tuple[Context, LoginSession]:
    context = get_context(request)
    session = await run_in_threadpool(current_session, context, request)
    if session is None:
        raise LoginRequired(PAGE)
    return context, session


async def _audit(request: Request, context: Context, session: LoginSession, event: str) -> None:
    await run_in_threadpool(
        lambda: context.audit.record(
            event, actor=session.account.id, ip=client_ip(request), factor="otp"
        )
    )


async def start(request: Request) -> Response:
    context, session = await _session(request)
    await checked_form(request)
    started = await run_in_threadpool(
        one_time_codes.start, context.store, context.keys, session.account, context.clock()
    )
    if not started:
        return error_page(
            request, "Already set up", "Your account already has an authenticator app.", 409
        )
    return RedirectResponse(PAGE, status_code=303)


async def show(request: Request, *, error: str | None = None) -> Response:
    context, session = await _session(request)
    enrolment = await run_in_threadpool(
        one_time_codes.pending, context.store, context.keys, session.account
    )
    if enrolment is None:
        return RedirectResponse("/account#second-factor", status_code=303)
    return render(
        request, "one_time_codes.html", status_code=400 if error else 200,
        enrolment=enrolment, error=error,
    )


async def confirm(request: Request) -> Response:
    context, session = await _session(request)
    form = await checked_form(request)
    now = context.clock()
    codes = await run_in_threadpool(
        one_time_codes.confirm, context.store, context.keys, session.account,
        form_field(form.get("code")) or "", now,
    )
    if codes is None:
        return await show(request, error=WRONG_FIRST_CODE)
    # The code just typed is a second factor: this session has both from now on.
    await run_in_threadpool(context.store.second_factor_given, session.id, "pwd otp", now)
    await _audit(request, context, session, "factor.enrolled")
    # The only time the recovery codes are shown: this response, never stored in the clear.
    return render(request, "recovery_codes.html", status_code=201, codes=codes)


async def remove(request: Request) -> Response:
    context, session = await _session(request)
    await checked_form(request)
    removed = await run_in_threadpool(context.store.remove_one_time_codes, session.account.id)
    if not removed:
        return error_page(request, "Nothing to remove", "No authenticator app is set up.", 404)
    await _audit(request, context, session, "factor.removed")
    return RedirectResponse("/account#second-factor", status_code=303)

"""The account's second factors: enrol an authenticator app (a QR code, then its first code,
then ten recovery codes shown once), and remove it unless the account's role requires one
(policy). Every enrolment and removal is audited. ``next``: where an enrolment the policy
asked for goes back to."""

from __future__ import annotations

from functools import partial

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authserver import one_time_codes
from authserver.admin import passkeys
from authserver.admin.access import factor_page_of
from authserver.context import Context
from authserver.messages import N_, _
from authserver.policy import may_remove_factor, second_factor_required
from authserver.web.pages import (
    checked_form,
    error_page,
    form_field,
    last_factor_page,
    render,
)
from authserver.web.paths import enrolment_url, with_next
from authserver.web.session import LoginSession, client_ip

PAGE = "/account/one-time-codes"
WRONG_FIRST_CODE = N_("That code is not right. Type the code your app shows now.")


async def _audit(request: Request, context: Context, session: LoginSession, event: str) -> None:
    await run_in_threadpool(
        lambda: context.audit.record(
            event, actor=session.account.id, ip=client_ip(request), factor="otp"
        )
    )


async def start(request: Request) -> Response:
    context, session, next_page = await factor_page_of(request, PAGE)
    await checked_form(request)
    started = await run_in_threadpool(
        one_time_codes.start, context.store, context.keys, session.account, context.clock()
    )
    if not started:
        return error_page(
            request, _("Already set up"), _("Your account already has an authenticator app."),
            409,
        )
    return RedirectResponse(enrolment_url(next_page), status_code=303)


async def show(request: Request, *, error: str | None = None) -> Response:
    """The enrolment waiting for its first code; or, with none, what the policy asks."""
    context, session, next_page = await factor_page_of(request, PAGE)
    enrolment = await run_in_threadpool(
        one_time_codes.pending, context.store, context.keys, session.account
    )
    if enrolment is None and await run_in_threadpool(
        context.store.one_time_code_factor, session.account.id
    ) is not None:
        return RedirectResponse(next_page, status_code=303)  # enrolled already
    return render(
        request, "one_time_codes.html", status_code=400 if error else 200,
        enrolment=enrolment, error=error, next_page=next_page,
        required=second_factor_required(context.settings, session.account),
        start=with_next(f"{PAGE}/start", next_page),
        confirm=with_next(f"{PAGE}/confirm", next_page),
        passkeys=with_next(passkeys.PAGE, next_page),
    )


async def confirm(request: Request) -> Response:
    context, session, next_page = await factor_page_of(request, PAGE)
    form = await checked_form(request)
    now = context.clock()
    codes = await run_in_threadpool(
        one_time_codes.confirm, context.store, context.keys, session.account,
        form_field(form.get("code")) or "", now,
    )
    if codes is None:
        await _audit(request, context, session, "factor.enrolment_failed")
        return await show(request, error=_(WRONG_FIRST_CODE))
    # The code just typed is a second factor: this session has both from now on.
    await run_in_threadpool(context.store.second_factor_given, session.id, "pwd otp", now)
    await _audit(request, context, session, "factor.enrolled")
    # The only time the recovery codes are shown: this response, never stored in the clear.
    return render(
        request, "recovery_codes.html", status_code=201, codes=codes, next_page=next_page
    )


async def remove(request: Request) -> Response:
    context, session, _next_page = await factor_page_of(request, PAGE)
    await checked_form(request)
    if not await run_in_threadpool(
        may_remove_factor, context.settings, context.store, session.account
    ):
        return last_factor_page(request, N_("your authenticator app"))
    # Checked again in the DELETE itself: a removal racing this one may have left it the last.
    removed = await run_in_threadpool(partial(
        context.store.remove_one_time_codes, session.account.id,
        keep_one=second_factor_required(context.settings, session.account),
    ))
    if not removed:
        if await run_in_threadpool(context.store.one_time_code_factor, session.account.id):
            return last_factor_page(request, N_("your authenticator app"))
        return error_page(
            request, _("Nothing to remove"), _("No authenticator app is set up."), 404
        )
    await _audit(request, context, session, "factor.removed")
    return RedirectResponse("/account#second-factor", status_code=303)

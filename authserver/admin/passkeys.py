"""The account's passkeys: register one (a name, then the browser's ceremony: a discoverable
credential, user verification required of a role that must sign in with a second factor) and
remove one unless it is the last factor such a role has (policy). Every registration, failed
registration and removal is audited. ``next``: where an enrolment the policy asked for goes
back to."""

from __future__ import annotations

from functools import partial

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authserver import passkeys
from authserver.admin.access import factor_page_of
from authserver.context import Context
from authserver.interactions.passkey_login import available
from authserver.messages import N_, _
from authserver.policy import may_remove_factor, second_factor_required
from authserver.web.pages import (
    checked_form,
    error_page,
    form_field,
    last_factor_page,
    render,
)
from authserver.web.passkey_challenges import options_response, take
from authserver.web.paths import with_next
from authserver.web.session import LoginSession, client_ip
from shared.http import NO_STORE

PAGE = "/account/passkeys"
NOT_CREATED = N_("The passkey was not added. Try again, and use it when your browser asks.")
DUPLICATE = N_("This passkey is already registered.")


async def _audit(
    request: Request, context: Context, session: LoginSession, event: str, **detail: str
) -> None:
    await run_in_threadpool(
        lambda: context.audit.record(
            event, actor=session.account.id, ip=client_ip(request), factor="passkey", **detail
        )
    )


async def show(request: Request, *, error: str | None = None, status_code: int = 200) -> Response:
    """Adding a passkey; the passkeys the account has are listed on /account."""
    context, session, next_page = await factor_page_of(request, PAGE, "/account#passkeys")
    rp = available(context)
    return render(
        request, "passkeys.html", status_code=status_code, script=rp is not None,
        available=rp is not None, error=error,
        required=second_factor_required(context.settings, session.account),
        action=with_next(PAGE, next_page), options=f"{PAGE}/options",
    )


async def options(request: Request) -> Response:
    """POST: the options of a new passkey's registration, for the logged-in account."""
    context, session, _next_page = await factor_page_of(request, PAGE, "/account#passkeys")
    await checked_form(request)
    rp = available(context)
    if rp is None:
        return Response(status_code=404, headers=NO_STORE)
    account = session.account
    existing = await run_in_threadpool(context.store.passkeys, account.id)
    verify_user = second_factor_required(context.settings, account)
    return options_response(
        context, request, "register",
        lambda challenge: passkeys.registration_options(
            rp, account, existing, challenge, verify_user
        ),
        account.id,
    )


async def register(request: Request) -> Response:
    context, session, next_page = await factor_page_of(request, PAGE, "/account#passkeys")
    form = await checked_form(request)
    rp, account = available(context), session.account
    challenge = await run_in_threadpool(take, context, request, "register", account.id)
    created = None
    if rp is not None and challenge is not None:
        created = await run_in_threadpool(
            passkeys.register, rp, account, form_field(form.get("name")) or "",
            form_field(form.get("credential")) or "", challenge,
            second_factor_required(context.settings, account), context.clock(),
        )
    if created is None:
        await _audit(request, context, session, "factor.enrolment_failed")
        return await show(request, error=_(NOT_CREATED), status_code=400)
    if not await run_in_threadpool(context.store.add_passkey, created):
        await _audit(request, context, session, "factor.enrolment_failed", reason="duplicate")
        return await show(request, error=_(DUPLICATE), status_code=409)
    await _audit(request, context, session, "factor.enrolled", passkey=created.id)
    return RedirectResponse(next_page, status_code=303)


async def remove(request: Request) -> Response:
    context, session, _next_page = await factor_page_of(request, PAGE, "/account#passkeys")
    await checked_form(request)
    account, passkey_id = session.account, request.path_params["passkey_id"]
    owned = {passkey.id for passkey in await run_in_threadpool(context.store.passkeys, account.id)}
    if passkey_id not in owned:
        return error_page(
            request, _("Nothing to remove"), _("That passkey is not on your account."), 404
        )
    if not await run_in_threadpool(may_remove_factor, context.settings, context.store, account):
        return last_factor_page(request, N_("this passkey"))
    # Checked again in the DELETE itself: a removal racing this one may have left it the last.
    if not await run_in_threadpool(partial(
        context.store.remove_passkey, account.id, passkey_id,
        keep_one=second_factor_required(context.settings, account),
    )):
        if passkey_id in {key.id for key in await run_in_threadpool(context.store.passkeys,
                                                                    account.id)}:
            return last_factor_page(request, N_("this passkey"))
        return error_page(
            request, _("Nothing to remove"), _("That passkey was removed already."), 404
        )
    await _audit(request, context, session, "factor.removed", passkey=passkey_id)
    return RedirectResponse("/account#passkeys", status_code=303)

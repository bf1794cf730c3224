"""Logging in: checking a password (or a passkey, interactions.passkey_login), and the
standalone login page for the account pages."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Literal

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authserver.context import Context, get_context
from authserver.interactions import passkey_login
from authserver.messages import N_, _, ngettext
from authserver.models import Account
from authserver.policy import has_second_factor, second_factor_required
from authserver.throttle import Throttled
from authserver.web.devices import device_for, remember_device
from authserver.web.pages import checked_form, form_field, login_page
from authserver.web.paths import enrolment_url, local_path, login_url, second_step_url
from authserver.web.session import (
    browser_id,
    client_ip,
    end_session,
    ensure_browser_id,
    start_session,
)
from shared.authentication import ACR_MFA, acr_of

BAD_LOGIN = N_("The email or password is incorrect, or the account is disabled.")
ACCOUNT_INTRO = N_("Log in to manage your HospiAI account.")


def too_many_attempts(throttled: Throttled) -> str:
    # The same words for both limits, and for emails with and without an account.
    minutes = math.ceil(throttled.retry_after / 60)
    return ngettext(
        "Too many failed login attempts. For your security, logging in is paused: try again "
        "in a minute.",
        "Too many failed login attempts. For your security, logging in is paused: try again "
        "in %(num)s minutes.",
        minutes,
    )


async def authenticate(request: Request, email: str, password: str) -> Account | Throttled | None:
    """The active account with this email and password; an unknown email costs the same.
    Throttled: too many failures for this email (or, on a known device, from this browser for
    it) or from this network, and nothing checked."""
    context = get_context(request)
    ip = client_ip(request)
    # What was typed, only if it looks like an address (never a password in the wrong box).
    typed = email[:320] if "@" in email else "(not an email address)"
    attempt = await run_in_threadpool(
        context.throttle.begin, email, ip, context.clock(), device_for(context, request, email)
    )
    if isinstance(attempt, Throttled):
        if attempt.limit == "network" and _forwarded_but_not_believed(request, ip):
            context.throttle.warn_untrusted_proxy(ip)
        await run_in_threadpool(
            context.audit.record, "login.throttled", ip=ip, email=typed,
            limit=attempt.limit,
        )
        return attempt
    return await run_in_threadpool(_check_password, context, attempt, email, password, ip, typed)


def _check_password(
    context: Context, attempt: int, email: str, password: str, ip: str | None, typed: str
) -> Account | None:
    """The password check of an attempt the throttle let through, and its audit. A hash at
    another cost (an imported one, or one from before a cost change) is re-hashed at ours; the
    store replaces it only if it is still the one just verified."""
    account = context.store.account_by_email(email)
    valid = context.passwords.verify(account.password_hash if account else None, password)
    if account is None or not valid or account.disabled:
        context.audit.record("login.failed", ip=ip, email=typed)
        return None
    context.throttle.succeeded(attempt)
    if context.passwords.needs_rehash(account.password_hash):
        context.store.replace_password_hash(
            account.id, account.password_hash, context.passwords.hash(password)
        )
    context.audit.record("login.succeeded", actor=account.id, ip=ip, email=typed)
    return account


def _forwarded_but_not_believed(request: Request, ip: str | None) -> bool:
    """The request names a client in X-Forwarded-For, and uvicorn did not take it from there."""
    forwarded = request.headers.get("x-forwarded-for")
    if not forwarded:
        return False
    return ip not in {entry.strip() for entry in forwarded.split(",")}


@dataclass(frozen=True)
class Login:
    """Who logged in, and how (RFC 8176 amr, space-separated): "pwd", or a passkey's."""

    account: Account
    amr: str = "pwd"

    @property
    def by_password(self) -> bool:
        return self.amr == "pwd"


async def log_in(
    request: Request, form: FormData, action: str, intro: str, redirect_uri: str | None = None
) -> Login | Response:
    """Who a login form names (email and password, or a passkey's ``credential``), or the form
    again saying why not: 401 for a wrong email, password or passkey, 429 with Retry-After
    while throttled (never a redirect). ``redirect_uri``: where the login may end up
    (render)."""
    email = form_field(form.get("email")) or ""
    credential = form_field(form.get("credential"))
    result: Login | Throttled | None
    if credential is not None:
        found = await passkey_login.authenticate(request, credential)
        result = Login(*found) if isinstance(found, tuple) else found
        bad = passkey_login.BAD_PASSKEY
    else:
        account = await authenticate(request, email, form_field(form.get("password")) or "")
        result = Login(account) if isinstance(account, Account) else account
        bad = BAD_LOGIN
    if isinstance(result, Throttled):
        page = login_page(
            request, action, intro, error=too_many_attempts(result), email=email, status_code=429,
            redirect_uri=redirect_uri,
        )
        page.headers["Retry-After"] = str(result.retry_after)
        return page
    if result is None:
        return login_page(
            request, action, intro, error=_(bad), email=email, redirect_uri=redirect_uri
        )
    return result


Outstanding = Literal["second_factor", "enrolment"] | None


def outstanding(context: Context, login: Login, asked: bool = False) -> Outstanding:
    """What a right password still needs: the account's second factor, or (its role requiring
    one it lacks, or the request being finished having ``asked`` for one) an enrolment; None
    when the login is whole. A passkey's is, unless it was one factor (no user verification,
    which a role that requires a second factor never signs in without) and ``asked``."""
    account = login.account
    if not login.by_password and not (asked and acr_of(login.amr.split()) != ACR_MFA):
        return None
    if has_second_factor(context.store, account):
        return "second_factor"
    required = asked or second_factor_required(context.settings, account)
    return "enrolment" if required else None


async def finish_login(
    request: Request, response: Response, login: Login, next_page: str, owed: Outstanding
) -> str:
    """What a successful login leaves on the browser: a new session, a new browser id
    (returned: an interaction being finished is re-bound to it), and this browser known for
    the account's email. The response goes to ``next_page``, or first to what is ``owed``:
    the second step (the session counts for nothing until it is given), or enrolment."""
    context = get_context(request)
    new_browser_id = await run_in_threadpool(
        partial(start_session, second_factor_due=owed == "second_factor", amr=login.amr),
        context, request, response, login.account, context.clock(),
    )
    remember_device(context, request, response, login.account.email)
    response.headers["location"] = (
        second_step_url(next_page) if owed == "second_factor"
        else enrolment_url(next_page) if owed == "enrolment"
        else next_page
    )
    return new_browser_id


async def show(request: Request) -> Response:
    context = get_context(request)
    if browser_id(context, request) is None:
        # The CSRF token is bound to the browser id: set it, then come back.
        response = RedirectResponse(login_url(request.query_params.get("next")), 303)
        ensure_browser_id(context, request, response)
        return response
    return login_page(request, login_url(request.query_params.get("next")), _(ACCOUNT_INTRO))


async def login(request: Request) -> Response:
    form = await checked_form(request)
    next_page = local_path(request.query_params.get("next"))
    done = await log_in(request, form, login_url(next_page), _(ACCOUNT_INTRO))
    if isinstance(done, Response):
        return done
    response = RedirectResponse(next_page, status_code=303)
    owed = await run_in_threadpool(outstanding, get_context(request), done)
    await finish_login(request, response, done, next_page, owed)
    return response


async def logout(request: Request) -> Response:
    await checked_form(request)  # logging out is a state change: CSRF-checked like the rest
    response = RedirectResponse("/login", status_code=303)
    await run_in_threadpool(end_session, get_context(request), request, response)
    return response

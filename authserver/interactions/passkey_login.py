"""Passkeys at sign-in: instead of a password (a discoverable credential, no email typed), or as
the second step after one; and the options each ceremony starts with. Throttled like
passwords; every failure is audited. User verification is required of a role that must sign in
with a second factor (the passkey is then both)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from authserver import passkeys
from authserver.context import Context, get_context
from authserver.messages import N_
from authserver.models import Account, Passkey
from authserver.passkeys import RelyingParty, relying_party
from authserver.policy import second_factor_required
from authserver.throttle import Throttled
from authserver.web.pages import checked_form
from authserver.web.passkey_challenges import options_response, take
from authserver.web.session import LoginSession, client_ip, second_step_session
from shared.http import NO_STORE

BAD_PASSKEY = N_("That passkey was not accepted. Try again, or log in with your password.")


def _unavailable(why: str, status_code: int = 404) -> Response:
    return JSONResponse({"error": why}, status_code, headers=NO_STORE)


def available(context: Context) -> RelyingParty | None:
    """The relying party passkeys are for; None when the issuer cannot be one (an IP address)."""
    return relying_party(context.settings.issuer)


async def sign_in_options(request: Request) -> Response:
    """POST: the options of a discoverable sign-in (any passkey of this site)."""
    context = get_context(request)
    await checked_form(request)
    rp = available(context)
    if rp is None:
        return _unavailable("Passkeys are not available on this server.")
    return options_response(
        context, request, "sign_in",
        lambda challenge: passkeys.authentication_options(rp, challenge, verify_user=False),
    )


async def second_factor_options(request: Request) -> Response:
    """POST: the options of the second step, for the passkeys of the account whose password
    was right a moment ago (or whose live sign-in steps up)."""
    context = get_context(request)
    await checked_form(request)
    rp = available(context)
    session = await run_in_threadpool(second_step_session, context, request)
    if rp is None or session is None:
        return _unavailable("Log in again.", 403)
    account = session.account
    allowed = await run_in_threadpool(context.store.passkeys, account.id)
    if not allowed:
        return _unavailable("This account has no passkey.")
    verify_user = second_factor_required(context.settings, account)
    return options_response(
        context, request, "second_factor",
        lambda challenge: passkeys.authentication_options(rp, challenge, verify_user, allowed),
        account.id,
    )


async def authenticate(request: Request, credential: str) -> tuple[Account, str] | Throttled | None:
    """The active account whose passkey answered this browser's sign-in challenge, and the
    amr values it is worth; None if anything is wrong; Throttled: too many failures for the
    passkey's account (or the unknown credential) or from this network, and nothing checked."""
    context = get_context(request)
    return await run_in_threadpool(_authenticate, context, request, credential)


def _authenticate(
    context: Context, request: Request, credential: str
) -> tuple[Account, str] | Throttled | None:
    ip, now = client_ip(request), context.clock()
    found, subject = _named_passkey(context, credential)
    attempt = context.throttle.begin_passkey(subject, ip, now)
    if isinstance(attempt, Throttled):
        context.audit.record("login.throttled", actor=found[1].id if found else None, ip=ip,
                             method="passkey", limit=attempt.limit)
        return attempt
    verified = _verified(context, request, found, credential, ip, now)
    if verified is None:
        return None
    passkey, account, amr = verified
    context.throttle.succeeded(attempt)
    context.audit.record("login.succeeded", actor=account.id, ip=ip, method="passkey",
                         passkey=passkey.id)
    return account, amr


def _named_passkey(
    context: Context, credential: str
) -> tuple[tuple[Passkey, Account] | None, str]:
    """The passkey a credential names and its active account (None: no such passkey), and what
    its attempts are throttled under: the account, or else the unknown credential's id, so that
    guessing credentials is throttled too."""
    credential_id = passkeys.credential_id(credential)
    found = context.store.passkey_by_credential(credential_id) if credential_id else None
    subject = found[1].id if found else (credential_id or b"").hex()[:128]
    return found, subject


def _verified(
    context: Context, request: Request, found: tuple[Passkey, Account] | None, credential: str,
    ip: str | None, now: int,
) -> tuple[Passkey, Account, str] | None:
    """The passkey, its account and the amr values of an assertion that answers this browser's
    sign-in challenge (taken, so used once, whatever the outcome); None, audited, otherwise."""
    rp, challenge = available(context), take(context, request, "sign_in")
    if rp is None or found is None or challenge is None:
        context.audit.record("passkey.failed", actor=found[1].id if found else None, ip=ip,
                             reason="unknown passkey" if found is None else "challenge")
        return None
    passkey, account = found
    assertion = passkeys.use(
        context.store, rp, passkey, credential, challenge,
        second_factor_required(context.settings, account), now,
    )
    if assertion is None:
        context.audit.record("passkey.failed", actor=account.id, ip=ip, passkey=passkey.id,
                             reason="assertion")
        return None
    return passkey, account, " ".join(assertion.amr)


def second_factor(
    context: Context, request: Request, session: LoginSession, credential: str
) -> tuple[str, ...] | None:
    """The amr values of a passkey of the account answering this browser's second-step
    challenge; None (audited) if it does not."""
    account, ip, rp = session.account, client_ip(request), available(context)
    credential_id = passkeys.credential_id(credential)
    found = context.store.passkey_by_credential(credential_id) if credential_id else None
    challenge = take(context, request, "second_factor", account.id)
    assertion = None
    if rp is not None and found is not None and found[1].id == account.id and challenge:
        assertion = passkeys.use(
            context.store, rp, found[0], credential, challenge,
            second_factor_required(context.settings, account), context.clock(),
        )
    if assertion is None:
        context.audit.record("passkey.failed", actor=account.id, ip=ip, step="second factor")
        return None
    return assertion.amr

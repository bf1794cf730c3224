"""Browser state in cookies: a signed browser id (CSRF and interaction binding), and the login
session, a signed cookie naming a session row by a random secret (the row holds its hash).
Both ids are issued by this server only: a value another site planted (any page on another
port of localhost can set our cookies over http) is no id at all."""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass

from itsdangerous import BadData, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from authserver.context import Context
from authserver.messages import N_, _
from authserver.models import Account, AccountSession, Interaction
from authserver.security import new_id, new_secret
from authserver.throttle import network_of
from shared.authentication import ACR_PASSWORD, acr_of

BROWSER = "hospiai_browser"
SESSION = "hospiai_session"
# A session's last use is written at most this often (seconds): a page request costs one read.
LAST_SEEN_EVERY = 300
# How long after a right password its second factor may be given (seconds).
SECOND_STEP_SECONDS = 300
# What the account page names a browser by: the first match in each list, in this order (Edge
# and Opera also say Chrome, Chrome also says Safari; iOS also says Mac OS X, Android Linux).
_BROWSERS = (
    ("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iOS"), ("Windows", "Windows"),
    ("CrOS", "ChromeOS"), ("Mac OS X", "macOS"), ("Linux", "Linux"),
)
UNKNOWN_BROWSER = N_("Unknown browser")
_PRODUCT = re.compile(r"[A-Za-z][A-Za-z0-9._-]{0,39}")


@dataclass(frozen=True)
class LoginSession:
    account: Account
    auth_time: int
    # The session row's public id (the account page marks "this session" by it).
    id: str
    # How the user proved who they are (RFC 8176): ("pwd",), ("pwd", "otp"), a passkey's
    # ("hwk", "user", "mfa"), ...
    amr: tuple[str, ...] = ("pwd",)

    @property
    def signed_in(self) -> tuple[str, int]:
        """How, and when, the user signed in: what an interaction they decide records."""
        return " ".join(self.amr), self.auth_time


def cookie_name(context: Context, base: str) -> str:
    # The __Host- prefix pins a secure cookie to this exact host and path "/".
    return f"__Host-{base}" if context.settings.secure_cookies else base


def _serializer(context: Context, base: str) -> URLSafeTimedSerializer:
    # Salted by the cookie's name: no cookie's value is ever valid as another's.
    return URLSafeTimedSerializer(context.keys.cookie_secret, salt=base)


def set_cookie(context: Context, response: Response, base: str, value: str, max_age: int) -> None:
    response.set_cookie(
        cookie_name(context, base),
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=context.settings.secure_cookies,
    )


def signed_cookie(context: Context, request: Request, base: str, max_age: int) -> object:
    """The value this server signed into cookie ``base`` within ``max_age``; None otherwise."""
    raw = request.cookies.get(cookie_name(context, base))
    if not raw:
        return None
    try:
        return _serializer(context, base).loads(raw, max_age=max_age)
    except BadData:
        return None


def sign(context: Context, base: str, value: object) -> str:
    return _serializer(context, base).dumps(value)


def client_ip(request: Request) -> str | None:
    """The browser's address (behind a proxy, as uvicorn's --forwarded-allow-ips resolves it)."""
    return request.client.host if request.client else None


def browser_id(context: Context, request: Request) -> str | None:
    """The id this server issued to this browser; an unsigned or forged one is none."""
    value = signed_cookie(context, request, BROWSER, context.settings.session_ttl)
    return value if isinstance(value, str) and value else None


def _issue_browser_id(context: Context, response: Response) -> str:
    created = secrets.token_urlsafe(32)
    set_cookie(context, response, BROWSER, sign(context, BROWSER, created),
               context.settings.session_ttl)
    return created


def ensure_browser_id(context: Context, request: Request, response: Response) -> str:
    """The browser id, issuing one on the response if the browser has none we signed."""
    return browser_id(context, request) or _issue_browser_id(context, response)


def bound_to_browser(context: Context, request: Request, interaction: Interaction) -> bool:
    """Whether this browser is the one that started the authorization request."""
    bid = browser_id(context, request)
    return bid is not None and hmac.compare_digest(
        context.keys.browser_binding(bid), interaction.browser_binding
    )


def _csrf_subject(context: Context, request: Request) -> str | None:
    """What the CSRF token is bound to: the browser id and, once logged in, the session too. A
    browser id planted back after the login (another localhost port can set it again) then does
    not bring back the token it had before; a session secret nobody else knows is part of it."""
    bid = browser_id(context, request)
    claims = _session_claims(context, request)
    if bid is None or claims is None:
        return bid
    return f"{bid} {claims[1]}"


def csrf_token(context: Context, request: Request) -> str:
    return context.keys.csrf_token(_csrf_subject(context, request) or "")


def check_csrf(context: Context, request: Request, token: str | None) -> bool:
    return context.keys.check_csrf(_csrf_subject(context, request), token)


def device_summary(user_agent: str) -> str:
    """"Firefox on Linux": enough to tell one's sessions apart, never the raw header."""
    browser = next((name for token, name in _BROWSERS if token in user_agent), None)
    system = next((name for token, name in _SYSTEMS if token in user_agent), None)
    if browser is None:
        product = _PRODUCT.match(user_agent)
        browser = product.group(0) if product else UNKNOWN_BROWSER
    return f"{browser} on {system}" if system else browser


def device_label(summary: str) -> str:
    """A stored device_summary (English, as the sessions table holds it) in the page's
    language. Its browser name has no space, so " on " parts it."""
    browser, on, system = summary.partition(" on ")
    browser = _(UNKNOWN_BROWSER) if browser == UNKNOWN_BROWSER else browser
    return _("%(browser)s on %(system)s", browser=browser, system=system) if on else browser


def start_session(
    context: Context, request: Request, response: Response, account: Account, now: int,
    *, second_factor_due: bool = False, amr: str = "pwd",
) -> str:
    """After a login (``amr``: how, RFC 8176): a new session row and its cookie, the session
    this browser had before ended, and a new browser id (so one planted or seen before the
    login no longer passes CSRF nor an interaction's binding). Returns the new browser id. With
    ``second_factor_due`` the session counts only for the second step (due_session)."""
    _end_named_session(context, request)
    secret, ttl = new_secret("ses"), context.settings.session_ttl
    context.store.add_session(AccountSession(
        id=new_id("ses"), secret_hash=context.keys.hash_secret(secret), account_id=account.id,
        created_at=now, auth_time=now, last_seen_at=now, expires_at=now + ttl,
        user_agent=device_summary(request.headers.get("user-agent", "")),
        network=network_of(client_ip(request)), second_factor_due=second_factor_due, amr=amr,
    ))
    claims = {"sub": account.id, "sid": secret}
    set_cookie(context, response, SESSION, sign(context, SESSION, claims), ttl)
    return _issue_browser_id(context, response)


def _session_claims(context: Context, request: Request) -> tuple[str, str] | None:
    """The account id and session secret the session cookie carries, if we signed it."""
    data = signed_cookie(context, request, SESSION, context.settings.session_ttl)
    if not isinstance(data, dict):
        return None
    sub, sid = data.get("sub"), data.get("sid")
    return (sub, sid) if isinstance(sub, str) and isinstance(sid, str) else None


def _end_named_session(context: Context, request: Request) -> None:
    claims = _session_claims(context, request)
    if claims is not None:
        context.store.end_session(context.keys.hash_secret(claims[1]))


def forget_session(context: Context, response: Response) -> None:
    """This browser is logged out (its session row ended already): the cookie goes, and the
    browser gets a new id, as at login. On a shared computer (a hospital's), nothing it was
    given before (a CSRF token, an interaction's binding) still passes after it, whether it
    logged out or ended this session from its account page."""
    response.delete_cookie(
        cookie_name(context, SESSION),
        path="/",
        httponly=True,
        samesite="lax",
        secure=context.settings.secure_cookies,
    )
    _issue_browser_id(context, response)


def end_session(context: Context, request: Request, response: Response) -> None:
    """Logout: the session row ends (a copy of the cookie stops working), and the browser
    forgets it."""
    _end_named_session(context, request)
    forget_session(context, response)


def current_session(context: Context, request: Request) -> LoginSession | None:
    """The logged-in account, if the cookie names a live session of an active account that
    owes no second factor: one indexed read, and a write of its last use at most every
    LAST_SEEN_EVERY seconds."""
    return _named_session(context, request, second_factor_due=False)


def due_session(context: Context, request: Request) -> LoginSession | None:
    """The session whose password was right a moment ago (SECOND_STEP_SECONDS) and whose
    second factor is still due: what the second step finishes."""
    found = _named_session(context, request, second_factor_due=True)
    if found is None or context.clock() - found.auth_time > SECOND_STEP_SECONDS:
        return None
    return found


def second_step_session(context: Context, request: Request) -> LoginSession | None:
    """The session a second factor completes: one whose password was right a moment ago, or
    a live one whose sign-in was one factor (giving a second factor only raises its level)."""
    due = due_session(context, request)
    if due is not None:
        return due
    live = current_session(context, request)
    return live if live is not None and acr_of(live.amr) == ACR_PASSWORD else None


def _named_session(
    context: Context, request: Request, *, second_factor_due: bool
) -> LoginSession | None:
    claims = _session_claims(context, request)
    if claims is None:
        return None
    now = context.clock()
    found = context.store.live_session(context.keys.hash_secret(claims[1]), now)
    if found is None:
        return None
    row, account = found
    if row.account_id != claims[0] or row.second_factor_due != second_factor_due:
        return None
    if now - row.last_seen_at >= LAST_SEEN_EVERY:
        context.store.saw_session(row.id, now, unless_since=now - LAST_SEEN_EVERY + 1)
    return LoginSession(account, row.auth_time, row.id, tuple(row.amr.split()))

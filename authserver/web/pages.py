"""Rendering pages: every page gets the CSRF token; errors are pages that never redirect, and a
page that needs a login raises LoginRequired."""

from __future__ import annotations

import datetime
import re
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from authserver.context import get_context
from authserver.messages import N_, _
from authserver.passkeys import relying_party
from authserver.web.paths import enrolment_url, login_url, under
from authserver.web.session import check_csrf, csrf_token
from shared.clock import PARIS
from shared.i18n import show_moment

# No script, never framed (clickjacking on consent), no base element: every response's policy;
# a page adds where its forms may go and, offering a passkey, its one script (render).
PAGE_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
# Where a sign-in with a passkey gets its options (interactions.passkey_login).
PASSKEY_SIGN_IN = "/login/passkey/options"
# Sources a form-action may name: an http(s) origin by host name or IPv4 address, or a scheme.
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*:")
# Up to 100 ASCII digits ("²" and "①" are digits to str.isdigit, not to int): int() reads them all.
_NUMBER = re.compile(r"[0-9]{1,100}")


def render(
    request: Request,
    template: str,
    status_code: int = 200,
    *,
    redirect_uri: str | None = None,
    script: bool = False,
    **values: Any,
) -> Response:
    """``redirect_uri``: where a form of the page may end up, through this server's redirects
    (the client's, on the interaction pages). ``script``: the page offers a passkey, which
    only navigator.credentials can use: it runs /static/passkeys.js, and nothing else."""
    context = get_context(request)
    # The page's policy replaces the fixed one every other response gets (app.SECURITY_HEADERS;
    # a browser enforces every policy it is sent, so a second one could not allow a script):
    # only the page knows where its forms go, and whether it runs the passkey script.
    policy = f"{PAGE_POLICY}; {form_action(redirect_uri)}"
    if script:
        # The script's own origin only: no inline script, no eval; it fetches passkey options.
        policy += "; script-src 'self'; connect-src 'self'"
    return context.templates.TemplateResponse(
        request,
        template,
        {"csrf_token": csrf_token(context, request), "passkey_script": script, **values},
        status_code=status_code,
        headers={"Cache-Control": "no-store", "Content-Security-Policy": policy},
    )


def form_action(redirect_uri: str | None) -> str:
    """CSP form-action: forms post to this server, and to the client's redirect URI when the
    answer to a form is a redirect there (Chromium checks form-action on every redirect after
    a form is submitted). An origin, or a private-use scheme (RFC 8252 section 7.1); IPv6 has
    no host-source in CSP, so a ``http://[::1]`` redirect allows http, which only the
    interaction pages (two forms of this server's own) ever need."""
    sources = ["'self'"]
    if redirect_uri:
        parts = urlsplit(redirect_uri)
        origin = f"{parts.scheme}://{parts.netloc}"
        if parts.scheme in {"http", "https"} and _ORIGIN.fullmatch(origin):
            sources.append(origin)
        elif _SCHEME.fullmatch(f"{parts.scheme}:"):
            sources.append(f"{parts.scheme}:")
    return "form-action " + " ".join(sources)


def error_page(
    request: Request, title: str, message: str, status_code: int = 400,
    link: tuple[str, str] | None = None,
) -> Response:
    """``link``: (path, text) of this server's page that the person should go to instead."""
    return render(request, "error.html", status_code, title=title, message=message, link=link)


def last_factor_page(request: Request, factor: str) -> Response:
    """The refusal to remove the last second factor of an account whose role requires one:
    without it, the account would be locked out of everything the role is for. ``factor``:
    its name, marked N_ (translated here)."""
    return error_page(
        request, _("Two-step sign-in is required"),
        _("Your role requires two-step sign-in, and %(factor)s is the last way you have to "
          "give it, so it cannot be removed. Add a passkey or an authenticator app first. "
          "Lost it? Ask an administrator to reset it.", factor=_(factor)), 409,
    )


class PageError(Exception):
    """Raised by a page or the authorization endpoint: the app's one handler shows the error
    page (never a redirect, so never to an unverified redirect URI)."""

    def __init__(
        self, title: str, message: str, status_code: int = 400,
        link: tuple[str, str] | None = None,
    ) -> None:
        super().__init__(title)
        self.title = title
        self.message = message
        self.status_code = status_code
        self.link = link


async def show_page_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    return error_page(request, exc.title, exc.message, exc.status_code, exc.link)


# The router's own refusals, as a person's page: a path no route has (a mistyped or outdated
# link), and a page asked for with a method it does not take (a bookmarked or typed address of
# a form's target, such as /logout).
_ROUTER_PAGES = {
    404: (N_("Page not found"),
          N_("There is no page at this address: the link may be mistyped or out of date.")),
    405: (N_("This address does not open this way"),
          N_("It is the target of a button on another page, not a page of its own.")),
}


async def show_router_error(
    request: Request, exc: Exception, protocol_paths: tuple[str, ...] = ()
) -> Response:
    """The router's 404 or 405 as a page in the person's language, with the router's headers
    (a 405's Allow); under ``protocol_paths`` the plain answer an HTTP API's clients get."""
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if under(request.url.path, protocol_paths):
        return PlainTextResponse(exc.detail, exc.status_code, headers=headers)
    title, message = _ROUTER_PAGES[exc.status_code]
    response = error_page(
        request, _(title), _(message), exc.status_code,
        link=("/", _("Go to the HospiAI Connect home page")),
    )
    response.headers.update(headers)
    return response


class LoginRequired(Exception):
    """Raised by a page that needs a (recent) login: the one handler sends the browser to the
    login page, which brings it back to ``next_page``."""

    def __init__(self, next_page: str) -> None:
        super().__init__(next_page)
        self.next_page = next_page


class EnrolmentRequired(Exception):
    """Raised by a page the account's role may open only with a second factor it lacks: the
    one handler sends the browser to enrolment, which brings it back to ``next_page``."""

    def __init__(self, next_page: str) -> None:
        super().__init__(next_page)
        self.next_page = next_page


async def send_to_enrolment(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, EnrolmentRequired)
    return RedirectResponse(enrolment_url(exc.next_page), status_code=303)


async def send_to_login(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(login_url(exc.next_page), status_code=303)


def form_field(value: object) -> str | None:
    """A text form field (checked_form refused NUL); an upload counts as absent."""
    return value if isinstance(value, str) else None


def whole_number(value: object) -> int | None:
    """A form or query field of ASCII digits as a number; anything else is None. The one
    parser of numbers in forms and queries: the caller checks the range."""
    text = form_field(value)
    return int(text) if text is not None and _NUMBER.fullmatch(text) else None


def show_time(unix_time: int | None, seconds: bool = False) -> str:
    """A stored unix time as the hospital's users read it (Europe/Paris, their language);
    ``seconds`` for the audit log, where the order of events a few seconds apart matters."""
    if unix_time is None:
        return _("never")
    return show_moment(datetime.datetime.fromtimestamp(unix_time, PARIS), seconds)


def iso_time(unix_time: int) -> str:
    """A stored unix time for a <time datetime> attribute: ISO 8601 with the Paris offset."""
    return datetime.datetime.fromtimestamp(unix_time, PARIS).isoformat()


async def checked_form(request: Request) -> FormData:
    """The posted form, read once, if its CSRF token is this browser's; else PageError. A NUL
    in any field (PostgreSQL refuses it in text) refuses the form (the path and the query were
    checked at the edge, web.edge)."""
    form = await request.form()
    if any(isinstance(value, str) and "\x00" in key + value for key, value in form.multi_items()):
        raise PageError(_("This form cannot be read"), _("It contains a character not allowed."))
    if check_csrf(get_context(request), request, form_field(form.get("csrf_token"))):
        return form
    raise PageError(_("This form has expired"), _("Reload the page and try again."), 403)


def login_page(
    request: Request,
    action: str,
    intro: str,
    *,
    error: str | None = None,
    email: str = "",
    status_code: int | None = None,
    redirect_uri: str | None = None,
) -> Response:
    context = get_context(request)
    # No passkey where the issuer cannot be a relying party (an IP address): then no script.
    passkeys = relying_party(context.settings.issuer) is not None
    return render(
        request,
        "login.html",
        status_code=status_code or (401 if error else 200),
        redirect_uri=redirect_uri,
        script=passkeys,
        passkey_options=PASSKEY_SIGN_IN if passkeys else None,
        action=action,
        intro=intro,
        error=error,
        email=email,
        password_reset_url=context.settings.password_reset_url,
    )

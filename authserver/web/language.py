"""The language of every page: the browser's choice on the switch (a cookie), else its
Accept-Language, else HOSPIAI_DEFAULT_LOCALE. Every request is served in it (shared.i18n)."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from authserver.context import Context, get_context
from authserver.messages import _
from authserver.web.pages import PageError
from authserver.web.paths import local_path
from authserver.web.session import cookie_name, set_cookie
from shared.i18n import LOCALES, NAMES, active_locale, negotiate, speaking

PATH = "/language"
LOCALE = "hospiai_locale"
# The choice is kept a year; it holds no secret, only "fr" or "en".
LOCALE_MAX_AGE = 365 * 86400


def chosen(context: Context, request: Request) -> str:
    """The language this request's page is in."""
    cookie = request.cookies.get(cookie_name(context, LOCALE))
    if cookie in LOCALES:
        return cookie
    return negotiate(request.headers.get("accept-language"), context.settings.default_locale)


class Language:
    """Serves each request in its language (see ``chosen``); OAuth JSON errors stay English
    whatever it is, since they never pass through the catalogue."""

    def __init__(self, app: ASGIApp, context: Context) -> None:
        self.app = app
        self.context = context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with speaking(chosen(self.context, Request(scope))):
            await self.app(scope, receive, send)


async def switch(request: Request) -> Response:
    """GET /language?lang=fr&next=/account: remembers the choice and goes back to ``next``, a
    path on this server only (a link any page may carry, so a GET: it changes nothing but the
    language of this browser's pages)."""
    locale = request.query_params.get("lang")
    if locale not in LOCALES:
        raise PageError(_("Unknown language"), _("Choose French or English."))
    response = RedirectResponse(local_path(request.query_params.get("next"), "/"), 303)
    response.headers["Cache-Control"] = "no-store"
    set_cookie(get_context(request), response, LOCALE, locale, LOCALE_MAX_AGE)
    return response


def switches(request: Request) -> list[tuple[str, str, str]]:
    """(language, its name, link) for each language but the page's own: the switch on every
    page, which comes back to this page."""
    back = urlencode({"next": _here(request)})
    return [
        (locale, NAMES[locale], f"{PATH}?lang={locale}&{back}")
        for locale in LOCALES if locale != active_locale()
    ]


def _here(request: Request) -> str:
    """This page's address; for the answer to a form (a POST), the page that has it: the same
    path if it can be shown (GET), else its parent (``/interaction/x/login`` is shown at
    ``/interaction/x``)."""
    path = request.url.path
    if request.method != "GET" and not _shown_at(request, path):
        path = path.rsplit("/", 1)[0] or "/"
    query = request.url.query
    return local_path(f"{path}?{query}" if query else path, "/")


def _shown_at(request: Request, path: str) -> bool:
    routes = getattr(request.scope.get("app"), "routes", [])
    probe = {"type": "http", "path": path, "method": "GET"}
    return any(route.matches(probe)[0] is Match.FULL for route in routes)

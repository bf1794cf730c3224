"""create_app(settings): routes, middleware and lifespan of the authorization server."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from authserver import routes
from authserver.audit import Audit
from authserver.context import Context
from authserver.endpoints import (
    INTROSPECTION_PATH,
    OAuthEndpoint,
    Shortcut,
    authorize,
    in_thread_pool,
    metadata,
    service,
    validate,
)
from authserver.legacy import LegacyTokens
from authserver.maintenance import purge_every
from authserver.messages import CATALOGUE
from authserver.oauth import security_events
from authserver.oauth.bridge import (
    HttpRequest,
    MalformedRequest,
    OAuthResponse,
    malformed_response,
)
from authserver.oauth.egress import Egress
from authserver.security import PASSWORDS, Keys, Passwords
from authserver.settings import Settings
from authserver.store import Store
from authserver.throttle import LoginThrottle, RegistrationThrottle
from authserver.web.edge import RefuseNul
from authserver.web.failures import PageFailures
from authserver.web.labels import AUDIT_EVENTS, CLIENT_KINDS, ROLE_NAMES, client_name
from authserver.web.language import Language, switches
from authserver.web.pages import (
    PAGE_POLICY,
    EnrolmentRequired,
    LoginRequired,
    PageError,
    iso_time,
    send_to_enrolment,
    send_to_login,
    show_page_error,
    show_router_error,
    show_time,
)
from authserver.web.session import device_label
from shared.clock import unix_now
from shared.cors import Cors, RouteCors
from shared.database import create_db_engine
from shared.health import database_check, health_routes
from shared.http import NO_STORE
from shared.i18n import active_locale, show_day, show_number
from shared.metrics import Metrics
from shared.observe import Observe, ObservedApp

log = logging.getLogger(__name__)
HERE = Path(__file__).parent

# No script (a page that offers a passkey sets its own policy, web.pages.render); pages are
# never framed (clickjacking on consent), never leak a referrer (authorization codes travel in
# URLs).
SECURITY_HEADERS = [
    (b"content-security-policy", PAGE_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]

# Browser-based clients (MCP Inspector, vscode.dev, web apps) call these from their own origin.
# Any origin, because each is a public-client endpoint whose safety rests on what the request
# carries (PKCE verifier, registration or client credentials), never on who the page is; and
# never with credentials, so the login cookie never acts cross-origin. /authorize, the pages
# and /introspect (resource servers only) get none.
_WITH_TOKEN = ("Authorization", "Content-Type")
_DOCUMENT = Cors(("GET",), headers=("MCP-Protocol-Version",))  # the TS SDK's discovery header
CORS_ROUTES = {
    "/.well-known/oauth-authorization-server": _DOCUMENT,
    "/.well-known/openid-configuration": _DOCUMENT,
    "/register": Cors(("POST",), headers=_WITH_TOKEN),
    # RFC 7592: the registration response hands a browser client this URI and its token.
    "/register/{client_id}": Cors(
        ("GET", "PUT", "DELETE"), headers=_WITH_TOKEN, expose=("WWW-Authenticate",)
    ),
    "/token": Cors(("POST",), headers=_WITH_TOKEN, expose=("WWW-Authenticate",)),
    "/revoke": Cors(("POST",), headers=_WITH_TOKEN, expose=("WWW-Authenticate",)),
}


# The endpoints that answer in OAuth JSON, and what lies under them; the rest are pages.
OAUTH_PATHS = (
    "/token", "/introspect", "/revoke", "/register", "/.well-known", validate.PATH, service.PREFIX,
    security_events.PATH,
)


async def _malformed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, MalformedRequest)
    return malformed_response(exc)


async def server_error(request: Request, exc: Exception) -> Response:
    # The detail goes to the log (which redacts secrets), never to the client.
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse(
        {"error": "server_error", "error_description": "An internal error occurred."},
        500,
        headers=NO_STORE,
    )


def build_context(
    settings: Settings, clock: Callable[[], int], egress: Egress, passwords: Passwords
) -> Context:
    """The one application context, with its engine and metadata documents built now."""
    store = Store(create_db_engine(settings.database_url))
    keys, metrics = Keys(settings.secret_key), Metrics("authserver")
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
        extensions=["jinja2.ext.i18n"],
    )
    # Whitespace in {% trans %} collapsed, as the extractor reads it (babel.cfg).
    environment.policies["ext.i18n.trimmed"] = True
    CATALOGUE.load()
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        CATALOGUE.gettext, CATALOGUE.ngettext, newstyle=True
    )
    environment.filters["datetime"] = show_time
    environment.filters["number"] = show_number
    environment.filters["client_name"] = client_name
    environment.filters["device"] = device_label
    environment.filters["translate"] = CATALOGUE.gettext  # text marked N_ in Python
    environment.filters["isotime"] = iso_time
    environment.filters["day"] = show_day
    environment.globals.update(
        locale=active_locale, switches=switches, role_names=ROLE_NAMES, client_kinds=CLIENT_KINDS,
        audit_events=AUDIT_EVENTS,
    )
    context = Context(
        settings=settings,
        store=store,
        keys=keys,
        clock=clock,
        metrics=metrics,
        audit=Audit(store, clock, metrics),
        templates=Jinja2Templates(env=environment),
        throttle=LoginThrottle(settings, store, keys),
        registrations=RegistrationThrottle(settings, store),
        egress=egress,
        legacy=LegacyTokens(settings.legacy_token_secret, settings.legacy_token_id_claim),
        passwords=passwords,
    )
    # Built here, not on a first request in some worker thread.
    _ = context.engine, context.documents
    return context


def _lifespan(context: Context) -> Callable[[Starlette], AbstractAsyncContextManager[Any]]:
    settings, store = context.settings, context.store

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[dict[str, Any]]:
        # Here rather than in the CLI, so that no way of serving the app skips it.
        store.check_schema()
        purging = (
            asyncio.create_task(purge_every(settings, store, context.clock))
            if settings.purge_interval
            else None
        )
        try:
            yield {"context": context}
        finally:
            if purging is not None:
                purging.cancel()
            await context.fetcher.aclose()
            if "resource_servers" in context.__dict__:  # opened by a first use only
                await context.resource_servers.aclose()
            await store.aclose()

    return lifespan


def _protocol_routes(context: Context, introspection: OAuthEndpoint) -> list[BaseRoute]:
    engine, issuer = context.engine, context.settings.issuer

    def endpoint(
        operation: Callable[[HttpRequest], OAuthResponse], *, authenticates: bool = False,
    ) -> OAuthEndpoint:
        prepare = engine.prepare_client_authentication if authenticates else None
        return OAuthEndpoint(in_thread_pool(operation), issuer, prepare=prepare)

    well_known = "/.well-known"
    return [
        # Reached by the shortcut (see create_app); the route answers what it does not take.
        Route(INTROSPECTION_PATH, introspection, methods=["POST"]),
        Route(f"{well_known}/oauth-authorization-server", metadata.authorization_server_metadata),
        Route(f"{well_known}/openid-configuration", metadata.authorization_server_metadata),
        Route("/authorize", authorize.authorize, methods=["GET"]),
        Route("/authorize/resume/{interaction_id}", authorize.resume, methods=["GET"]),
        # Where clients authenticate, private_key_jwt included (its keys are fetched first).
        Route(
            "/token",
            OAuthEndpoint(in_thread_pool(engine.token), issuer, prepare=engine.prepare_token),
            methods=["POST"],
        ),
        Route("/revoke", endpoint(engine.revoke, authenticates=True), methods=["POST"]),
        Route("/register", endpoint(engine.register), methods=["POST"]),
        # RFC 8936: resource servers poll for revocations (their introspection credentials).
        Route(
            security_events.PATH,
            security_events.Rfc8936Errors(endpoint(security_events.SecurityEventFeed(context))),
            methods=["POST"],
        ),
        Route(
            "/register/{client_id}",
            endpoint(engine.configure_client),
            methods=["GET", "PUT", "DELETE"],
        ),
        *_optional_routes(context, endpoint(validate.LegacyValidation(context))),
    ]


def _optional_routes(context: Context, legacy_validation: OAuthEndpoint) -> list[BaseRoute]:
    """The routes a deployment turns on or off by its settings."""
    # HospiAI's own token check from before the move, while integrations still call it.
    optional: list[BaseRoute] = (
        []
        if context.settings.legacy_validate == "off"
        else [Route(validate.PATH, legacy_validation, methods=["POST"])]
    )
    # HospiAI's web application managing personal tokens (client credentials, admin:tokens).
    if context.settings.service_api_enabled:
        optional += [
            Route(f"{service.PREFIX}/tokens", service.tokens, methods=["GET", "POST"]),
            Route(
                f"{service.PREFIX}/tokens/{{grant_id}}/revoke", service.revoke, methods=["POST"]
            ),
        ]
    return optional


def create_app(
    settings: Settings,
    *,
    clock: Callable[[], int] = unix_now,
    egress: Egress | None = None,
    passwords: Passwords = PASSWORDS,
) -> Starlette:
    context = build_context(settings, clock, egress or Egress(), passwords)
    # On the event loop, the hottest path there is.
    introspection = OAuthEndpoint(context.engine.introspect, settings.issuer)
    served = [
        *_protocol_routes(context, introspection),
        *routes.pages(),
        *routes.admin(),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        *health_routes([database_check(context.store)]),
        Route("/metrics", context.metrics.endpoint),
    ]
    app = ObservedApp(
        outer=[
            Middleware(Observe, metrics=context.metrics, headers=SECURITY_HEADERS,
                       fixed_paths={INTROSPECTION_PATH}),
            Middleware(Shortcut, path=INTROSPECTION_PATH, endpoint=introspection,
                       on_error=server_error),
        ],
        routes=served,
        lifespan=_lifespan(context),
        exception_handlers={
            MalformedRequest: _malformed, PageError: show_page_error, LoginRequired: send_to_login,
            EnrolmentRequired: send_to_enrolment, Exception: server_error,
            **dict.fromkeys(
                (404, 405), functools.partial(show_router_error, protocol_paths=OAUTH_PATHS)
            ),
        },
    )
    app.add_middleware(PageFailures, oauth_paths=OAUTH_PATHS)  # inside Language: translated
    app.add_middleware(RefuseNul, oauth_paths=OAUTH_PATHS)
    app.add_middleware(Language, context=context)  # outside RefuseNul: its page is translated
    app.add_middleware(RouteCors, routes=CORS_ROUTES)
    return app

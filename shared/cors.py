"""CORS (the Fetch standard) on the few routes browser-based clients call: Starlette's
CORSMiddleware, scoped to those paths, never with credentials."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import PlainTextResponse
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

ANY_ORIGIN = ("*",)


@dataclass(frozen=True)
class Cors:
    """What a browser page on another origin may do on one route."""

    methods: tuple[str, ...]
    headers: tuple[str, ...] = ()
    expose: tuple[str, ...] = ()
    origins: tuple[str, ...] = ANY_ORIGIN
    # The MCP transport's DNS-rebinding rule: a request whose Origin is neither allowed nor
    # its own (same scheme and Host, the Host being checked further in) is refused with 403,
    # rather than run and its answer hidden from the page.
    refuse_other_origins: bool = False


class _RouteCors(CORSMiddleware):
    def __init__(self, app: ASGIApp, cors: Cors) -> None:
        # Never credentials: the answers are for a script holding a token, and no cookie (the
        # login session) may ever act for a page on another origin.
        super().__init__(
            app,
            allow_origins=cors.origins,
            allow_methods=cors.methods,
            allow_headers=cors.headers,
            expose_headers=cors.expose,
            allow_credentials=False,
        )
        self.refuse_other_origins = cors.refuse_other_origins

    async def simple_response(
        self, scope: Scope, receive: Receive, send: Send, request_headers: Headers
    ) -> None:
        origin = request_headers.get("origin")
        if self.refuse_other_origins and origin is not None and not self._accepted(scope, origin):
            await PlainTextResponse("Forbidden Origin", status_code=403)(scope, receive, send)
            return
        await super().simple_response(scope, receive, send, request_headers)

    def _accepted(self, scope: Scope, origin: str) -> bool:
        if self.is_allowed_origin(origin):
            return True
        host = Headers(scope=scope).get("host", "")
        return origin.lower() == f"{scope.get('scheme', 'http')}://{host}".lower()


class RouteCors:
    """CORS on the routes named, each with its own policy; every other path answers as if
    there were no CORS at all (no header, and a preflight is the router's 404 or 405). A
    middleware, not a route wrapper, so that preflights never reach an endpoint and the
    answers of the middlewares inside (the MCP bearer guard's 401) carry the headers too."""

    def __init__(self, app: ASGIApp, routes: Mapping[str, Cors]) -> None:
        self.app = app
        # Plain paths by a dict lookup, templates only past their fixed prefix: this layer is
        # paid on every request, introspection too.
        self.paths: dict[str, ASGIApp] = {}
        self.templates: list[tuple[str, re.Pattern[str], ASGIApp]] = []
        for path, cors in routes.items():
            wrapped = _RouteCors(app, cors)
            if "{" in path:
                prefix = path.partition("{")[0]
                self.templates.append((prefix, compile_path(path)[0], wrapped))
            else:
                self.paths[path] = wrapped

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cors = self._cors(scope["path"]) if scope["type"] == "http" else None
        await (cors or self.app)(scope, receive, send)

    def _cors(self, path: str) -> ASGIApp | None:
        found = self.paths.get(path)
        if found is None:
            for prefix, pattern, wrapped in self.templates:
                if path.startswith(prefix) and pattern.match(path):
                    return wrapped
        return found

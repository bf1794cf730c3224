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
    # The MCP transport's DNS-rebinding rule: a request whose Origin is not allowed is refused
    # with 403 rather than run and its answer hidden from the page.
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
        if self.refuse_other_origins and origin is not None and not self.is_allowed_origin(origin):
            await PlainTextResponse("Forbidden Origin", status_code=403)(scope, receive, send)
            return
        await super().simple_response(scope, receive, send, request_headers)


class RouteCors:
    """CORS on the routes named, each with its own policy; every other path answers as if
    there were no CORS at all (no header, and a preflight is the router's 404 or 405). A
    middleware, not a route wrapper, so that preflights never reach an endpoint and the
    answers of the middlewares inside (the MCP bearer guard's 401) carry the headers too."""

    def __init__(self, app: ASGIApp, routes: Mapping[str, Cors]) -> None:
        self.app = app
        # Plain paths by a dict lookup: this layer is paid on every request, introspection too.
        self.paths: dict[str, ASGIApp] = {}
        self.patterns: list[tuple[re.Pattern[str], ASGIApp]] = []
        for path, cors in routes.items():
            wrapped = _RouteCors(app, cors)
            if "{" in path:
                self.patterns.append((compile_path(path)[0], wrapped))
            else:
                self.paths[path] = wrapped

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            cors = self.paths.get(path) or next(
                (wrapped for pattern, wrapped in self.patterns if pattern.match(path)), None
            )
            if cors is not None:
                await cors(scope, receive, send)
                return
        await self.app(scope, receive, send)

"""The bearer guard in front of /mcp: every request needs a valid token (RFC 6750 header only),
401 challenges point at the RFC 9728 metadata, an unreachable authorization server means 503
(one that refuses this server's credentials, 500), never 200; scope checks are step_up's."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcpserver.auth import AuthServerUnavailable, Identity, IntrospectionRefused, TokenVerifier
from mcpserver.context import Call, Services, enter, leave
from mcpserver.settings import DATA_ACCESS_PATH, MCP_PATH, Settings
from mcpserver.step_up import Unreadable, called_tools, missing_scopes, parse, step_up
from mcpserver.tools.data_access import OWN_LOG_SCOPE
from mcpserver.user_authentication import challenge, strong_enough
from shared import scopes
from shared.http import read_body
from shared.i18n import negotiate, speaking

MAX_BODY_BYTES = 1024 * 1024
RETRY_AFTER_SECONDS = 5


def _error(status: int, error: str, description: str) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def _parse_error() -> Response:
    # FastMCP's own answer to a body it cannot parse (JSON-RPC -32700 at HTTP 400), without
    # the parser's detail.
    return JSONResponse(
        {"jsonrpc": "2.0", "id": None,
         "error": {"code": -32700, "message": "Parse error: the body is not readable JSON."}},
        status_code=400,
    )


def _unavailable() -> Response:
    return JSONResponse(
        {"error": "temporarily_unavailable",
         "error_description": "HospiAI sign-in cannot be reached right now; the request "
                              "was not run. Try again in a few seconds."},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"},
    )


def _as_mcp(scope: Scope) -> Scope:
    # /mcp/ is served as /mcp: no redirect that a client would follow without its token.
    # Header values lose the whitespace around them (RFC 9110 section 5.5), which the
    # httptools parser keeps, so that Mcp-Name compares with the body's name.
    return {
        **scope,
        "path": MCP_PATH,
        "raw_path": MCP_PATH.encode(),
        "headers": [(name, value.strip(b" \t")) for name, value in scope["headers"]],
    }


class BearerGuard:
    def __init__(
        self, app: ASGIApp, *, verifier: TokenVerifier, services: Services, settings: Settings,
        tool_scopes: Mapping[str, str], strong_tools: Collection[str] = (),
    ) -> None:
        self.app = app
        self.tool_scopes = tool_scopes
        self.strong_tools = strong_tools
        self.step_up_max_age = settings.step_up_max_age
        self.verifier = verifier
        self.services = services
        self.metadata_url = settings.resource_metadata_url
        self.default_locale = settings.default_locale

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        if path == DATA_ACCESS_PATH:
            await self._data_access(scope, receive, send)
            return
        if path.rstrip("/") != MCP_PATH:
            await self.app(scope, receive, send)
            return
        scope = _as_mcp(scope)
        headers = Headers(scope=scope)
        identity = await self._authenticate(scope, headers)
        if isinstance(identity, Response):
            await identity(scope, receive, send)
            return
        if scope["method"] == "POST":
            try:
                body = await read_body(receive, MAX_BODY_BYTES)
            except ClientDisconnect:
                return  # nobody to answer, and half a request is never run
            if body is None:
                refused: Response | None = _error(
                    413, "invalid_request", "The request body is too large."
                )
            else:
                refused = self._step_up(body, identity)
                receive = _replay(body, receive)
            if refused is not None:
                await refused(scope, receive, send)
                return
        await self._run(identity, headers, scope, receive, send)

    async def _data_access(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The user's own access log needs a valid token with read:profile, as the
        list_my_data_access tool does."""
        headers = Headers(scope=scope)
        identity = await self._authenticate(scope, headers)
        if isinstance(identity, Response):
            await identity(scope, receive, send)
        elif OWN_LOG_SCOPE not in identity.scopes:
            await step_up([OWN_LOG_SCOPE], identity, self.metadata_url)(scope, receive, send)
        else:
            await self._run(identity, headers, scope, receive, send)

    async def _run(
        self, identity: Identity, headers: Headers, scope: Scope, receive: Receive, send: Send
    ) -> None:
        # What a person may read verbatim (refusals) is in the language the client asks for.
        locale = negotiate(headers.get("accept-language"), self.default_locale)
        context = enter(Call(identity, self.services))
        try:
            with speaking(locale):
                await self.app(scope, receive, send)
        finally:
            leave(context)

    async def _authenticate(self, scope: Scope, headers: Headers) -> Identity | Response:
        """The token's identity, or the 400, 401 or 503 that refuses the request. ``headers``:
        the request's, read once for the guard (every layer is paid on every tools/call)."""
        query = scope.get("query_string", b"")
        if query and "access_token" in parse_qs(query.decode("latin-1")):
            return _error(400, "invalid_request",
                          "Send the token in the Authorization header, never in the URL.")
        kind, _, token = headers.get("authorization", "").partition(" ")
        if kind.lower() != "bearer" or not token.strip():
            return self._challenge(None)
        try:
            identity = await self.verifier.verify(token.strip())
        except IntrospectionRefused:
            return _error(500, "server_error", "HospiAI sign-in refused this server; the "
                          "request was not run.")
        except AuthServerUnavailable:
            return _unavailable()
        return identity if identity is not None else self._challenge("invalid_token")

    def _step_up(self, body: bytes, identity: Identity) -> Response | None:
        try:
            messages = parse(body)
        except Unreadable:
            return _parse_error()
        missing = missing_scopes(messages, identity, self.tool_scopes)
        if missing:
            return step_up(missing, identity, self.metadata_url)
        strong = any(tool in self.strong_tools for tool in called_tools(messages))
        if strong and not strong_enough(identity, self.services.clock(), self.step_up_max_age):
            return challenge(self.step_up_max_age, self.metadata_url)
        return None

    def _challenge(self, error: str | None) -> Response:
        fields = [f'resource_metadata="{self.metadata_url}"',
                  f'scope="{scopes.join(scopes.DEFAULT_NAMES)}"']
        if error:
            fields.insert(0, f'error="{error}"')
        return JSONResponse(
            {"error": error or "unauthorized",
             "error_description": "A valid HospiAI access token is required."},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer " + ", ".join(fields)},
        )


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay

"""The bearer guard in front of /mcp: every request needs a valid token (RFC 6750 header only),
401 challenges point at the RFC 9728 metadata, a tool call lacking a scope gets the 403
insufficient_scope step-up, and an unreachable authorization server means 503, never 200."""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcpserver.auth import AuthServerUnavailable, IntrospectionVerifier
from mcpserver.context import Call, Services, enter, leave
from mcpserver.settings import MCP_PATH, Settings
from shared import scopes

MAX_BODY_BYTES = 1024 * 1024
RETRY_AFTER_SECONDS = 5
# Method-level needs; tools/call is looked up per tool in the scope catalogue.
METHOD_SCOPES = {"resources/read": "read:data"}


def required_scopes(messages: object) -> list[str]:
    """The scopes the JSON-RPC message(s) of a POST body need, in catalogue order."""
    needed = set()
    for message in messages if isinstance(messages, list) else [messages]:
        if not isinstance(message, dict):
            continue
        method = message.get("method")
        params = message.get("params")
        if method == "tools/call" and isinstance(params, dict):
            scope = scopes.TOOL_SCOPES.get(str(params.get("name")))
            if scope:
                needed.add(scope)
        elif isinstance(method, str) and method in METHOD_SCOPES:
            needed.add(METHOD_SCOPES[method])
    return [name for name in scopes.NAMES if name in needed]


class BearerGuard:
    def __init__(
        self, app: ASGIApp, *, verifier: IntrospectionVerifier, services: Services,
        settings: Settings,
    ) -> None:
        self.app = app
        self.verifier = verifier
        self.services = services
        self.metadata_url = settings.resource_metadata_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.rstrip("/") != MCP_PATH or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        # /mcp/ is served as /mcp: no redirect that a client would follow without its token.
        # Header values lose the whitespace around them (RFC 9110 section 5.5), which the
        # httptools parser keeps, so that Mcp-Name compares with the body's name.
        scope = {
            **scope,
            "path": MCP_PATH,
            "raw_path": MCP_PATH.encode(),
            "headers": [(name, value.strip(b" \t")) for name, value in scope["headers"]],
        }
        if "access_token" in parse_qs(scope.get("query_string", b"").decode("latin-1")):
            await self._error(scope, receive, send, 400, "invalid_request",
                              "Send the token in the Authorization header, never in the URL.")
            return
        scheme, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            await self._challenge(scope, receive, send, None)
            return
        try:
            identity = await self.verifier.verify(token.strip())
        except AuthServerUnavailable:
            response = JSONResponse(
                {"error": "temporarily_unavailable",
                 "error_description": "HospiAI sign-in cannot be reached right now; the request "
                                      "was not run. Try again in a few seconds."},
                status_code=503,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"},
            )
            await response(scope, receive, send)
            return
        if identity is None:
            await self._challenge(scope, receive, send, "invalid_token")
            return
        if scope["method"] == "POST":
            body = await _read_body(receive)
            if body is None:
                await self._error(scope, receive, send, 413, "invalid_request",
                                  "The request body is too large.")
                return
            try:
                messages = json.loads(body) if body else None
            except ValueError:
                messages = None  # the MCP server answers malformed JSON-RPC itself
            # Step-up only for scopes this user could be granted; for the others (write:data for
            # a patient) re-authorizing cannot help, so the tool answers with its own error.
            missing = [
                name for name in required_scopes(messages)
                if name not in identity.scopes and scopes.allowed_for_role([name], identity.role)
            ]
            if missing:
                await self._step_up(scope, receive, send, missing)
                return
            receive = _replay(body, receive)
        context = enter(Call(identity, self.services))
        try:
            await self.app(scope, receive, send)
        finally:
            leave(context)

    async def _challenge(
        self, scope: Scope, receive: Receive, send: Send, error: str | None
    ) -> None:
        fields = [f'resource_metadata="{self.metadata_url}"',
                  f'scope="{scopes.join(scopes.DEFAULT_NAMES)}"']
        if error:
            fields.insert(0, f'error="{error}"')
        response = JSONResponse(
            {"error": error or "unauthorized",
             "error_description": "A valid HospiAI access token is required."},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer " + ", ".join(fields)},
        )
        await response(scope, receive, send)

    async def _step_up(
        self, scope: Scope, receive: Receive, send: Send, missing: Iterable[str]
    ) -> None:
        needed = " ".join(missing)
        response = JSONResponse(
            {"error": "insufficient_scope",
             "error_description": f"This call needs the scope: {needed}."},
            status_code=403,
            headers={"WWW-Authenticate": (
                f'Bearer error="insufficient_scope", scope="{needed}", '
                f'resource_metadata="{self.metadata_url}"'
            )},
        )
        await response(scope, receive, send)

    @staticmethod
    async def _error(
        scope: Scope, receive: Receive, send: Send, status: int, error: str, description: str
    ) -> None:
        response: Response = JSONResponse(
            {"error": error, "error_description": description}, status_code=status
        )
        await response(scope, receive, send)


async def _read_body(receive: Receive) -> bytes | None:
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return body
        chunk: bytes = message.get("body", b"")
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return None
        if not message.get("more_body", False):
            return body


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay

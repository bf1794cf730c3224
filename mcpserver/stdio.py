"""``hospiai mcpserver --stdio``: the same tools over the stdio transport, for desktop assistants
configured with a command. The user is the personal access token in HOSPIAI_TOKEN, checked by
the same introspection (at start, then on every request under the same cache rules), with the
same scopes and the same access log. Standard output is the protocol's: logs go to stderr."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import mcp_types as mt
from fastmcp.exceptions import ToolError
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools.base import ToolResult
from prometheus_client import CollectorRegistry

from mcpserver.app import build_mcp, receiver_for, verifier_for
from mcpserver.auth import AuthServerUnavailable, Identity, TokenVerifier
from mcpserver.context import Call, Services, current, enter, leave
from mcpserver.domain.store import DomainStore
from mcpserver.messages import CATALOGUE, _
from mcpserver.settings import Settings
from mcpserver.step_up import missing_scopes
from shared.database import create_db_engine
from shared.i18n import speaking
from shared.settings import SettingsError, environ

TOKEN_VARIABLE = "HOSPIAI_TOKEN"


class TokenRefused(ToolError):
    """The token stopped being valid (expired, revoked, its account disabled)."""

    def __init__(self) -> None:
        super().__init__(_("%(variable)s is no longer valid here (expired or revoked): create "
                           "a new personal access token and restart the assistant.",
                           variable=TOKEN_VARIABLE))


class StdioGuard(Middleware):
    """The bearer guard and the scope check of the HTTP server, for the one token of this
    process: each request introspects it (cached as over HTTP), a revoked or expired token
    refuses the request, and a tool whose scope the token lacks is refused with the scope."""

    def __init__(self, verifier: TokenVerifier, token: str, services: Services) -> None:
        self.verifier = verifier
        self.token = token
        self.services = services
        # The registry's map, once the tools are registered (they are built around this).
        self.tool_scopes: Mapping[str, str] = {}

    async def on_request(
        self, context: MiddlewareContext[Any], call_next: CallNext[Any, Any]
    ) -> Any:
        try:
            identity = await self.verifier.verify(self.token)
        except AuthServerUnavailable:
            raise ToolError(_("HospiAI sign-in cannot be reached right now; the request was "
                              "not run. Try again in a few seconds.")) from None
        if identity is None:
            raise TokenRefused()
        reset = enter(Call(identity, self.services))
        try:
            return await call_next(context)
        finally:
            leave(reset)

    async def on_call_tool(
        self,
        context: MiddlewareContext[mt.CallToolRequestParams],
        call_next: CallNext[mt.CallToolRequestParams, ToolResult],
    ) -> ToolResult:
        self._check_scopes({"method": "tools/call", "params": {"name": context.message.name}})
        return await call_next(context)

    async def on_read_resource(self, context: Any, call_next: Any) -> Any:
        self._check_scopes({"method": "resources/read"})
        return await call_next(context)

    def _check_scopes(self, message: dict[str, object]) -> None:
        # What over HTTP is the 403 step-up: a local assistant cannot re-authorize, so the
        # user is told which scope the token needs.
        missing = missing_scopes(message, current().identity, self.tool_scopes)
        if missing:
            raise ToolError(_("Your %(variable)s lacks the scope %(scope)s: create a personal "
                              "access token that includes it.",
                              variable=TOKEN_VARIABLE, scope=" ".join(missing)))


async def serve(
    settings: Settings, token: str, *, clock: Callable[[], float] = time.time,
    transport: httpx.AsyncBaseTransport | None = None,
) -> int:
    store = DomainStore(create_db_engine(settings.database_url))
    CATALOGUE.load()
    try:
        store.check_schema()
        async with httpx.AsyncClient(timeout=httpx.Timeout(5.0), transport=transport) as client:
            verifier = verifier_for(settings, client, clock)
            identity = await _first_check(verifier, token)
            if identity is None:
                return 2
            guard = StdioGuard(verifier, token, Services(store=store, clock=clock))
            tools = build_mcp([guard], step_up_max_age=settings.step_up_max_age, clock=clock)
            guard.tool_scopes = tools.scopes
            await tools.check()
            print(f"hospiai: serving MCP over stdio for {identity.email or identity.sub}",
                  file=sys.stderr, flush=True)
            # The revocation feed, as over HTTP: a token revoked on /account stops at once.
            receiver = receiver_for(settings, client, verifier, CollectorRegistry())
            polling = asyncio.create_task(receiver.run()) if receiver is not None else None
            try:
                with speaking(settings.default_locale):  # no request says a language on stdio
                    await tools.mcp.run_stdio_async(show_banner=False)
            finally:
                if polling is not None:
                    polling.cancel()
    finally:
        store.dispose()
    return 0


async def _first_check(verifier: TokenVerifier, token: str) -> Identity | None:
    try:
        identity = await verifier.verify(token)
    except AuthServerUnavailable:
        print("hospiai: HospiAI sign-in cannot be reached; not starting", file=sys.stderr)
        return None
    if identity is None:
        print(f"hospiai: {TOKEN_VARIABLE} is not an active token for this MCP server "
              "(expired, revoked, or for another resource)", file=sys.stderr)
    return identity


def main() -> int:
    env = environ()
    token = env.get(TOKEN_VARIABLE, "").strip()
    if not token:
        print(f"hospiai: set {TOKEN_VARIABLE} to a personal access token (from /account)",
              file=sys.stderr)
        return 2
    try:
        settings = Settings.from_env(env)
    except SettingsError as error:
        print(f"hospiai: configuration error: {error}", file=sys.stderr)
        return 2
    import anyio

    return anyio.run(serve, settings, token)

"""What the server advertises (MCP lifecycle, capability negotiation): only what a stateless
server answering in JSON can deliver. No stream outlives a request, so there are no list-change
notifications and no log messages to send; FastMCP advertises both by default."""

from __future__ import annotations

from typing import Any

import mcp_types as mt
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext


def deliverable(capabilities: mt.ServerCapabilities) -> mt.ServerCapabilities:
    """``capabilities`` without logging and with every listChanged off."""
    update: dict[str, Any] = {"logging": None}
    for name in ("prompts", "resources", "tools"):
        declared = getattr(capabilities, name)
        if declared is not None:
            update[name] = declared.model_copy(update={"list_changed": False})
    return capabilities.model_copy(update=update)


class StatelessCapabilities(Middleware):
    """Rewrites the capabilities of the legacy `initialize` answer and of `server/discover`."""

    async def on_initialize(
        self,
        context: MiddlewareContext[mt.InitializeRequest],
        call_next: CallNext[mt.InitializeRequest, mt.InitializeResult | None],
    ) -> mt.InitializeResult | None:
        result = await call_next(context)
        if result is None:
            return None
        return result.model_copy(update={"capabilities": deliverable(result.capabilities)})

    async def on_discover(
        self,
        context: MiddlewareContext[mt.DiscoverRequest],
        call_next: CallNext[mt.DiscoverRequest, mt.DiscoverResult | dict[str, Any]],
    ) -> mt.DiscoverResult | dict[str, Any]:
        result = await call_next(context)
        if isinstance(result, dict):  # a non-core result type, which carries no capabilities
            return result
        return result.model_copy(update={"capabilities": deliverable(result.capabilities)})

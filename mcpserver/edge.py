"""What the MCP edge refuses before any tool or resource runs: a NUL character in a tool
argument or resource URI, which PostgreSQL cannot store or compare (a 500 otherwise)."""

from __future__ import annotations

import mcp_types as mt
from fastmcp.resources.base import ResourceResult
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools.base import ToolResult

from mcpserver.messages import _
from mcpserver.refusal import Refusal

NUL = "\x00"


def has_nul(value: object) -> bool:
    """Whether a NUL is in any string (key or value) of a JSON value; iterative, as a value
    can be nested as deep as the JSON parser allowed."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if NUL in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


class RefuseNul(Middleware):
    async def on_call_tool(
        self,
        context: MiddlewareContext[mt.CallToolRequestParams],
        call_next: CallNext[mt.CallToolRequestParams, ToolResult],
    ) -> ToolResult:
        if has_nul(context.message.arguments):
            raise Refusal(_("Tool arguments must not contain the NUL character."))
        return await call_next(context)

    async def on_read_resource(
        self,
        context: MiddlewareContext[mt.ReadResourceRequestParams],
        call_next: CallNext[mt.ReadResourceRequestParams, ResourceResult],
    ) -> ResourceResult:
        if has_nul(str(context.message.uri)):
            raise Refusal(_("A resource URI must not contain the NUL character."))
        return await call_next(context)

"""The MCP tools, one module per area, each with a register(tools) function that gives every
tool the scope it needs; this module holds what they share (the registry, running store calls,
dates and times in Europe/Paris)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import mcp_types as mt
from anyio import to_thread
from fastmcp import FastMCP
from fastmcp.exceptions import NotFoundError
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools.base import ToolResult
from mcp_types import ToolAnnotations

from mcpserver.access_log import AccessLog, Whose
from mcpserver.domain.errors import DomainError
from mcpserver.messages import _
from mcpserver.refusal import Refusal
from mcpserver.user_authentication import StrongAuthentication
from shared import scopes
from shared.clock import PARIS

T = TypeVar("T")


class UndeclaredScope(Exception):
    """A tool served without a declared scope: the server must not start (it would run for
    any valid token)."""


class Tools:
    """The tools of one MCP server, each registered with the scope it needs: the one source
    of the tool-to-scope map the guard enforces."""

    def __init__(
        self, mcp: FastMCP, *, step_up_max_age: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.mcp = mcp
        self.scopes: dict[str, str] = {}
        # Tools whose calls the health-data access log records, and whose data they reach.
        self.logged: dict[str, Whose] = {}
        # Tools that change hospital data: RFC 9470 step-up (mcpserver.user_authentication).
        self.strong: set[str] = set()
        mcp.add_middleware(DeclaredOnly(self.scopes))
        mcp.add_middleware(AccessLog(self.logged))
        mcp.add_middleware(StrongAuthentication(self.strong, step_up_max_age, clock))

    def add(
        self, function: Callable[..., Any], *, scope: str, annotations: ToolAnnotations,
        logged: Whose | None = None,
    ) -> None:
        """``logged``: the tool reads or changes a patient's or a hospital's data, and each
        call of it is recorded in the access log. A tool whose scope changes hospital data
        (shared.scopes, step_up) needs a recent sign-in with a second factor."""
        if scope not in scopes.RESOURCE_NAMES:
            raise UndeclaredScope(f"{function.__name__} needs {scope!r}, not a resource scope")
        self.mcp.tool(function, name=function.__name__, annotations=annotations)
        self.scopes[function.__name__] = scope
        if logged is not None:
            self.logged[function.__name__] = logged
        if scopes.BY_NAME[scope].step_up:
            self.strong.add(function.__name__)

    async def check(self) -> None:
        """Refuse to start when FastMCP serves a tool that was not added with a scope."""
        served = {tool.name for tool in await self.mcp.list_tools(run_middleware=False)}
        undeclared = sorted(served - self.scopes.keys())
        if undeclared:
            raise UndeclaredScope(f"tools without a declared scope: {', '.join(undeclared)}")


class DeclaredOnly(Middleware):
    """Runs only tools with a declared scope, the ones the guard checked. Any other name is
    answered as FastMCP answers a tool it does not serve (a tool error, in the shape of the
    negotiated revision), so no call whose scope nobody checked reaches a tool."""

    def __init__(self, scopes: dict[str, str]) -> None:
        self.scopes = scopes

    async def on_call_tool(
        self,
        context: MiddlewareContext[mt.CallToolRequestParams],
        call_next: CallNext[mt.CallToolRequestParams, ToolResult],
    ) -> ToolResult:
        if context.message.name not in self.scopes:
            raise NotFoundError(f"Unknown tool: {context.message.name!r}")
        return await call_next(context)


def not_your_hospital(hospital_id: str) -> str:
    """The refusal of a staff change to a hospital the user does not belong to, the same
    whether the id exists or not."""
    return _("You can change only the hospitals you belong to, and %(id)s is not one of them. "
             "An administrator adds hospitals to your account.", id=repr(hospital_id[:64]))


async def run(function: Callable[..., T], *args: object) -> T:
    """Run a blocking store call in a worker thread; domain errors become safe tool errors."""
    try:
        return await to_thread.run_sync(function, *args)
    except DomainError as error:
        raise Refusal(_(str(error))) from None


def paris_time(timestamp: int) -> str:
    """What tools show: ISO 8601 in Europe/Paris, with its offset."""
    return datetime.fromtimestamp(timestamp, UTC).astimezone(PARIS).isoformat()


# Days a tool accepts: any later and the day after overflows (9999-12-31), any earlier and
# nothing can be booked.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)


def parse_day(value: str, name: str) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise Refusal(_("%(name)s must be a date like 2026-12-01, got %(value)s.",
                        name=name, value=repr(value[:40]))) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise Refusal(_("%(name)s must be between %(first)s and %(last)s.",
                        name=name, first=FIRST_DAY, last=LAST_DAY))
    return day


# The longest range of days a tool reads or changes at once, both ends counted.
MAX_RANGE_DAYS = 31


def day_range(date_from: str, date_to: str) -> tuple[date, date]:
    """The first and last days of a range a tool was given, both checked."""
    first, last = parse_day(date_from, "date_from"), parse_day(date_to, "date_to")
    if last < first:
        raise Refusal(_("date_to must not be before date_from."))
    if (last - first).days >= MAX_RANGE_DAYS:
        raise Refusal(_("The date range may span at most %(days)s days.", days=MAX_RANGE_DAYS))
    return first, last


def start_of_day(day: date) -> int:
    return int(datetime.combine(day, datetime.min.time(), tzinfo=PARIS).timestamp())

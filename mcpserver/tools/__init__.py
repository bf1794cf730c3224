"""The MCP tools, one module per area, each with a register(mcp) function; this module holds
what they share (running store calls, dates and times in Europe/Paris)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TypeVar

from anyio import to_thread
from fastmcp.exceptions import ToolError

from mcpserver.domain.errors import DomainError
from shared.clock import PARIS

T = TypeVar("T")


class Refusal(ToolError):
    """A call refused for a reason the caller can act on (an unknown id, a bad date, a right the
    user lacks): an answer with safe text, not a fault of the server, so FastMCP logs it at
    INFO instead of ERROR, where operators look for faults."""

    def __init__(self, message: str) -> None:
        super().__init__(message, log_level=logging.INFO)


async def run(function: Callable[..., T], *args: object) -> T:
    """Run a blocking store call in a worker thread; domain errors become safe tool errors."""
    try:
        return await to_thread.run_sync(function, *args)
    except DomainError as error:
        raise Refusal(str(error)) from None


def paris_time(timestamp: int) -> str:
    """What tools show: ISO 8601 in Europe/Paris, with its offset."""
    return datetime.fromtimestamp(timestamp, UTC).astimezone(PARIS).isoformat()


def parse_day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Refusal(f"{name} must be a date like 2026-12-01, got {value[:40]!r}.") from None


def start_of_day(day: date) -> int:
    return int(datetime.combine(day, datetime.min.time(), tzinfo=PARIS).timestamp())

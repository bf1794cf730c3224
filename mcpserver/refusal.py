"""A tool call refused for a reason the caller can act on: the one kind of tool error that is
the caller's, not a fault (the access log and FastMCP's log level both tell them apart)."""

from __future__ import annotations

import logging

from fastmcp.exceptions import ToolError


class Refusal(ToolError):
    """A call refused for a reason the caller can act on (an unknown id, a bad date, a right the
    user lacks): an answer with safe text, not a fault of the server, so FastMCP logs it at
    INFO instead of ERROR, where operators look for faults."""

    def __init__(self, message: str) -> None:
        super().__init__(message, log_level=logging.INFO)

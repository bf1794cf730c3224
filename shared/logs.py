"""Logging that never writes a token, secret or password: one JSON object per line, with
the id of the request it belongs to (set by shared.observe)."""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar

from shared.security_events import PATH as FEED_PATH

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# Every secret HospiAI issues carries a "hospiai_<kind>_" prefix, so one pattern finds them all;
# the others catch credentials a client sent in a header or a form. Group 1 is kept.
_PATTERNS = (
    re.compile(r"()hospiai_[a-z]+_[A-Za-z0-9_\-]+"),
    re.compile(r"(?i)\b((?:bearer|basic)\s+)[A-Za-z0-9._~+/=\-]+"),
    re.compile(
        r"(?i)\b((?:access_token|refresh_token|code|code_verifier|client_secret|password|token)=)"
        r"[^&\s\"']+"
    ),
)


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(r"\1[redacted]", text)
    return text


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One redacted JSON object per record, with the current request id."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        current = request_id.get()
        if current is not None:
            entry["request_id"] = current
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


# Library records an operator never acts on, once per start or once per request: alembic's
# plugins, migration context and multi-line migration docstrings (`hospiai db upgrade` and
# `hospiai dev` print one line per database instead), and the MCP SDK's "Terminating session:
# None" after every stateless request; httpx's line per outgoing request (each introspection,
# and the MCP server's poll of the revocation feed every second: failures are our own
# warnings). Shown again at DEBUG.
CHATTY = (
    "alembic", "mcp.server.streamable_http",
    "mcp.server.streamable_http_manager", "httpx",
)
LEVELS = ("debug", "info", "warning", "error")


class QuietFeedPolls(logging.Filter):
    """Drops the access-log line of each answered poll of the revocation feed: every MCP
    server polls it every second, so in `hospiai dev` (which keeps uvicorn's access log) it
    buried the requests a person makes. A refused poll (401, 5xx) is still logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn.access's arguments: client address, method, path, HTTP version, status.
        args = record.args
        return not (isinstance(args, tuple) and len(args) == 5
                    and args[2] == FEED_PATH and args[4] == 200)


_FEED_POLLS = QuietFeedPolls()


def configure(
    level: str = "INFO", *, structured: bool = True, quiet: tuple[str, ...] = ()
) -> None:
    """Send every log record through redaction: JSON lines, or plain text for `hospiai dev`.
    ``quiet``: loggers beside CHATTY that say only warnings and errors, unless at DEBUG; the
    revocation feed's polls are out of the access log, unless at DEBUG."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter()
        if structured
        else RedactingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    adopt("uvicorn", "uvicorn.access", "uvicorn.error")
    access = logging.getLogger("uvicorn.access")
    access.removeFilter(_FEED_POLLS)
    if root.level > logging.DEBUG:
        access.addFilter(_FEED_POLLS)
    for name in (*CHATTY, *quiet):
        logging.getLogger(name).setLevel(
            logging.WARNING if root.level > logging.DEBUG else root.level
        )


def adopt(*names: str) -> None:
    """Take loggers that libraries set up with handlers of their own back to the root handler,
    so that their records are redacted too (and are JSON lines with a request id)."""
    for name in names:
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True

"""Logging setup that never writes a token, secret or password."""

from __future__ import annotations

import logging
import re

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


def configure(level: str = "INFO") -> None:
    """Send every log record through the redacting formatter."""
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True

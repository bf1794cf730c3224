"""Log lines never carry a token, secret or password."""

from __future__ import annotations

import logging

import pytest

from shared.logs import RedactingFormatter, redact


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("issued hospiai_at_Zm9vYmFyYmF6-_x to client", "Zm9vYmFyYmF6-_x"),
        ("Authorization: Bearer abc.def-ghi", "abc.def-ghi"),
        ("Authorization: Basic cnM6c2VjcmV0", "cnM6c2VjcmV0"),
        ("GET /cb?code=SplxlOBeZQQ&state=xyz", "SplxlOBeZQQ"),
        ("body refresh_token=tGzv3JOkF0&grant_type=refresh_token", "tGzv3JOkF0"),
        ("password=hunter2hunter2", "hunter2hunter2"),
        ("client_secret=s3cr3t&client_id=c", "s3cr3t"),
    ],
)
def test_redact_removes_secrets(line: str, secret: str) -> None:
    assert secret not in redact(line)
    assert "[redacted]" in redact(line)


def test_redact_keeps_the_rest() -> None:
    assert redact("GET /cb?code=abc&state=xyz") == "GET /cb?code=[redacted]&state=xyz"


def test_formatter_redacts_arguments_and_exceptions() -> None:
    formatter = RedactingFormatter("%(message)s")
    try:
        raise ValueError("bad token hospiai_rt_secretvalue")
    except ValueError:
        record = logging.LogRecord(
            "t", logging.ERROR, __file__, 1, "refresh %s failed", ("hospiai_rt_other",),
            exc_info=__import__("sys").exc_info(),
        )
    text = formatter.format(record)
    assert "secretvalue" not in text and "hospiai_rt_other" not in text
    assert "refresh [redacted] failed" in text

"""Log lines never carry a token, secret or password."""

from __future__ import annotations

import json
import logging
import re
import sys

import httpx
import pytest

from shared import logs
from shared.logs import JsonFormatter, RedactingFormatter, redact, request_id
from tests.harness import Stack

MADE_UP = r"[0-9a-f]{16}-[0-9a-f]+"


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


def test_json_lines_carry_the_request_id_and_stay_redacted() -> None:
    formatter = JsonFormatter()
    token = request_id.set("req-42")
    try:
        try:
            raise ValueError("bad token hospiai_at_c2VjcmV0")
        except ValueError:
            record = logging.LogRecord("hospiai", logging.ERROR, __file__, 1,
                                       "refused Bearer %s", ("abc.def",), sys.exc_info())
        line = json.loads(formatter.format(record))
    finally:
        request_id.reset(token)
    assert line["request_id"] == "req-42" and line["level"] == "ERROR"
    assert line["message"] == "refused Bearer [redacted]"
    assert "c2VjcmV0" not in line["exception"] and "ValueError" in line["exception"]


def test_every_response_names_its_request(stack: Stack) -> None:
    for url in (f"{stack.auth.url}/healthz", f"{stack.mcp_url.removesuffix('/mcp')}/healthz"):
        first, second = (httpx.get(url).headers["x-request-id"] for _ in range(2))
        assert re.fullmatch(MADE_UP, first) and re.fullmatch(MADE_UP, second) and first != second
        assert httpx.get(url, headers={"X-Request-ID": "lb-7f3a.1"}).headers["x-request-id"] == (
            "lb-7f3a.1")
        for forged in ("a b;<script>", "x" * 65):
            answer = httpx.get(url, headers={"X-Request-ID": forged}).headers["x-request-id"]
            assert re.fullmatch(MADE_UP, answer)


def test_library_chatter_is_quiet_unless_at_debug() -> None:
    # `hospiai dev --log-level debug` shows alembic's migration lines again (issue 17 item 4).
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    chatty = [logging.getLogger(name) for name in (*logs.CHATTY, "uvicorn.error")]
    try:
        logs.configure("info", structured=False, quiet=("uvicorn.error",))
        assert [logger.getEffectiveLevel() for logger in chatty] == [logging.WARNING] * len(chatty)
        logs.configure("debug", structured=False, quiet=("uvicorn.error",))
        assert [logger.getEffectiveLevel() for logger in chatty] == [logging.DEBUG] * len(chatty)
    finally:
        root.handlers[:], root.level = handlers, level
        for logger in chatty:
            logger.setLevel(logging.NOTSET)


def test_the_revocation_feeds_polls_stay_out_of_the_access_log_unless_at_debug(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Every MCP server polls the feed every second: in `hospiai dev`, which keeps uvicorn's
    # access log, that was a line a second burying the person's own requests.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    access = logging.getLogger("uvicorn.access")
    access.setLevel(logging.NOTSET)  # a test server before this one may have raised it

    def logged(status: int, path: str = "/security-events") -> str:
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "POST", path, "1.1", status)
        return capsys.readouterr().err

    try:
        logs.configure("info", structured=False)
        assert logged(200) == ""
        assert "/security-events" in logged(401)  # a refused poll is worth a line
        assert "/token" in logged(200, "/token")
        logs.configure("debug", structured=False)
        assert "/security-events" in logged(200)
    finally:
        root.handlers[:], root.level = handlers, level
        access.filters[:] = []

"""`--log-level` on `hospiai authserver` and `hospiai mcpserver` (issue 17 item 4), as real
processes: warning keeps start-up and shutdown silent, debug shows what info hides (the
schema check's line)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.databases import HEADS
from tests.servers import free_port, wait_until_answering
from tests.test_shutdown import _auth_env, _mcp_env

pytestmark = pytest.mark.processes


def _log_of(tmp_path: Path, service: str, *options: str) -> list[tuple[str, str]]:
    """(level, message) of every record a start and a SIGTERM stop wrote."""
    port = free_port()
    env = (_auth_env if service == "authserver" else _mcp_env)(tmp_path, port)
    # No authorization server runs here: the MCP server's revocation feed would rightly warn
    # that it cannot be reached, which is not what this test is about.
    env["HOSPIAI_SECURITY_EVENTS_POLL_MS"] = "0"
    process = subprocess.Popen(
        [sys.executable, "-m", "hospiai.cli", service, *options], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    wait_until_answering(f"http://127.0.0.1:{port}/healthz", process)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    records = [json.loads(line) for line in output.splitlines() if line.strip()]
    return [(record["level"], record["message"]) for record in records]


@pytest.mark.parametrize("service", ["authserver", "mcpserver"])
def test_log_level_sets_what_a_service_logs(tmp_path: Path, service: str) -> None:
    default = _log_of(tmp_path, service)
    assert ("INFO", "Application startup complete.") in default
    assert not any(level == "DEBUG" for level, _ in default)
    assert _log_of(tmp_path, service, "--log-level", "warning") == []
    debug = _log_of(tmp_path, service, "--log-level", "debug")
    checked = f"the {service} database is at revision {HEADS[service]}, as this code"
    assert ("DEBUG", checked) in debug
    assert ("INFO", "Application startup complete.") in debug


def test_an_unknown_log_level_is_refused_with_the_choices() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hospiai.cli", "authserver", "--log-level", "loud"],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 2
    assert "invalid choice: 'loud' (choose from" in result.stderr

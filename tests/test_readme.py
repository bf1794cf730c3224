"""The README's walkthrough, followed the way a newcomer does (issue 17: from `git clone` to a
booked appointment through an assistant, without reading code): its commands, read from the
README between its two markers, run as processes (`hospiai dev` on free ports, the example
assistant with the official MCP SDK client), the demo login it names signs in and allows, and
the account page shows what it says the page shows."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
import pytest

from tests.flow import decide, login
from tests.servers import free_port, start_dev, wait_until_answering

pytestmark = pytest.mark.processes

ROOT = Path(__file__).resolve().parent.parent
START = "<!-- walkthrough:"
END = "<!-- end of walkthrough -->"
CLONE = "git clone <this repository> hospiai-connect && cd hospiai-connect"
ASSISTANT = ".venv/bin/python examples/assistant.py"


def walkthrough() -> str:
    readme = (ROOT / "README.md").read_text()
    return readme[readme.index(START) : readme.index(END)]


def commands(text: str) -> list[str]:
    """The lines of the walkthrough's ```sh blocks."""
    blocks = re.findall(r"```sh\n(.*?)```", text, re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def test_the_walkthrough_runs_the_commands_this_test_runs() -> None:
    # A command added to the walkthrough must be added here too, so that it is run.
    assert commands(walkthrough()) == [CLONE, "make run", ASSISTANT]
    # `make run` is `hospiai dev` (with the defaults, which the other test changes).
    recipe = (ROOT / "Makefile").read_text().split("\nrun: $(STAMP)\n")[1].splitlines()[0]
    assert recipe == "\t$(BIN)/hospiai dev"


def test_the_walkthrough_books_an_appointment_and_the_account_page_shows_it(
    tmp_path: Path,
) -> None:
    text = walkthrough()
    email, password = re.findall(r"Sign in as `([^`]+)` / `([^`]+)`", text)[0]
    auth_port, mcp_port = free_port(), free_port()
    issuer = f"http://localhost:{auth_port}"
    dev = start_dev(tmp_path / ".data", auth_port, mcp_port)  # make run, on free ports
    try:
        wait_until_answering(f"http://localhost:{mcp_port}/healthz", dev)
        wait_until_answering(f"{issuer}/healthz", dev)
        with _assistant(f"http://localhost:{mcp_port}/mcp") as (assistant, lines):
            authorize_url = _line_with(lines, f"{issuer}/authorize?").strip()
            with httpx.Client(base_url=issuer, timeout=30,
                              headers={"Accept-Language": "en"}) as browser:
                interaction = browser.get(authorize_url).headers["location"]
                assert login(browser, interaction, email, password).status_code == 303
                back = decide(browser, interaction, "allow").headers["location"]
                assert back.startswith("http://127.0.0.1:"), back  # the script's callback
                assert browser.get(back).status_code == 200
                assistant.wait(timeout=60)
                output = "".join(_rest(lines))
                assert assistant.returncode == 0, output
                assert '"status": "booked"' in output, output
                for tool in ("search_hospitals", "find_available_slots", "book_appointment",
                             "list_my_appointments"):
                    assert f"> {tool} " in output, output
                account = browser.get(f"{issuer}/account")
                assert "HospiAI example assistant" in account.text, account.text
                log = browser.get(f"{issuer}/account/data-access")
                assert log.status_code == 200, log.text
                for quoted in re.findall(r'"([^"]+)"', text.split("/account/data-access")[1]):
                    phrase = " ".join(quoted.split())  # the README wraps its lines
                    assert phrase in log.text, (phrase, log.text)
    finally:
        dev.send_signal(signal.SIGINT)
        try:
            dev.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            dev.kill()
            raise
    assert dev.returncode == 0


@contextmanager
def _assistant(url: str) -> Iterator[tuple[subprocess.Popen[str], queue.Queue[str | None]]]:
    """``examples/assistant.py`` as the README runs it, against ``url``; its output lines on a
    queue (read by a thread, so that a silent script fails the test instead of hanging it)."""
    # BROWSER: what webbrowser.open runs; `true` opens nothing (this test is the browser).
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "BROWSER": "true"}
    process = subprocess.Popen(
        [sys.executable, ASSISTANT.split()[1], "--url", url], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    assert process.stdout is not None
    reader = threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True)
    reader.start()
    try:
        yield process, lines
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        reader.join(timeout=30)
        process.stdout.close()


def _pump(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _line_with(lines: queue.Queue[str | None], text: str) -> str:
    seen = []
    while (line := lines.get(timeout=60)) is not None:
        seen.append(line)
        if text in line:
            return line
    raise AssertionError(f"no line with {text}: {''.join(seen)}")


def _rest(lines: queue.Queue[str | None]) -> list[str]:
    rest = []
    while (line := lines.get(timeout=60)) is not None:
        rest.append(line)
    return rest

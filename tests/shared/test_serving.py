"""What `hospiai authserver` and `hospiai mcpserver` serve with: no per-request access log
(it cost 29 % of /introspect, and the benchmark measures without it), and a garbage collector
that leaves start-up's objects alone and runs less often."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import threading

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from shared.serving import GC_THRESHOLDS, Loopback, Server, config
from tests.servers import free_port, wait_until_answering


async def _hello(_request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


def test_requests_are_not_access_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    app = Starlette(routes=[Route("/", _hello)])
    listening = Loopback(free_port())
    server = Server(config(app, listening), own_signals=False)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    try:
        for _ in range(100):
            if server.started:
                break
            threading.Event().wait(0.05)
        response = httpx.get(f"http://127.0.0.1:{listening.port}/")
        assert response.text == "hello"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert server.started
    assert not [record for record in caplog.records if record.name == "uvicorn.access"]


_GC_REPORTER = """
import gc, json, sys
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from shared import serving

async def report(_request):
    return PlainTextResponse(json.dumps([gc.get_threshold(), gc.get_freeze_count()]))

serving.serve(Starlette(routes=[Route("/", report)]), serving.Loopback(int(sys.argv[1])))
"""


def test_the_served_process_freezes_its_start_up_objects_and_collects_less_often() -> None:
    """As `hospiai authserver` and `hospiai mcpserver` serve (serving.run calls serve)."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", _GC_REPORTER, str(port)])
    try:
        wait_until_answering(f"http://127.0.0.1:{port}/", process)
        threshold, frozen = json.loads(httpx.get(f"http://127.0.0.1:{port}/").text)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert tuple(threshold) == GC_THRESHOLDS and GC_THRESHOLDS[0] > 700  # Python's default
    # The modules, the app and everything else start-up built, out of the collector's sight.
    assert frozen > 10_000

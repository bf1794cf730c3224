"""What `hospiai authserver` and `hospiai mcpserver` serve with: no per-request access log
(it cost 29 % of /introspect, and the benchmark measures without it)."""

from __future__ import annotations

import asyncio
import logging
import threading

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from shared.serving import Loopback, Server, config
from tests.servers import free_port


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

"""Running real servers on loopback for tests: uvicorn in a thread on a pre-bound socket, or a
``hospiai`` process."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn


def bind_loopback() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def free_port() -> int:
    """A port free now, for a server in another process to bind."""
    sock = bind_loopback()
    port: int = sock.getsockname()[1]
    sock.close()
    return port


def wait_until_answering(url: str, process: subprocess.Popen[Any]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            assert process.poll() is None and time.monotonic() < deadline, f"{url} did not start"
            time.sleep(0.1)


def start_dev(data_dir: Path, auth_port: int, mcp_port: int) -> subprocess.Popen[str]:
    """`hospiai dev` on these ports and data folder, its output (text, unbuffered) on a pipe."""
    return subprocess.Popen(
        [sys.executable, "-m", "hospiai.cli", "dev", "--data-dir", str(data_dir),
         "--auth-port", str(auth_port), "--mcp-port", str(mcp_port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


@dataclass(frozen=True)
class Process:
    """A ``hospiai <command>`` to run: ready once ``ready_url`` answers; output to ``log``."""

    command: str
    env: Mapping[str, str]
    ready_url: str
    log: Path


@contextmanager
def hospiai_all(*processes: Process) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Serve each process until the block exits; all start at once, and the block begins when
    every one answers."""
    with ExitStack() as stack:
        started = []
        for process in processes:
            output = stack.enter_context(process.log.open("wb"))
            popen = subprocess.Popen(
                [sys.executable, "-m", "hospiai.cli", process.command], env=dict(process.env),
                stdout=output, stderr=subprocess.STDOUT,
            )
            stack.callback(_stop, popen)
            started.append(popen)
        for process, popen in zip(processes, started, strict=True):
            wait_until_answering(process.ready_url, popen)
        yield started


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=30)


@contextmanager
def hospiai(
    command: str, env: Mapping[str, str], ready_url: str, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Serve ``hospiai <command>`` until the block exits, once ``ready_url`` answers; its output
    goes to ``log``."""
    with hospiai_all(Process(command, env, ready_url, log)) as (process,):
        yield process


class _Server(uvicorn.Server):
    """uvicorn that stops as soon as it is told: its own main loop looks every 0.1 s, which
    added up to a minute of the suite's time."""

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        await super().serve(sockets)

    async def main_loop(self) -> None:
        await self.on_tick(0)
        await self._stopping.wait()

    def stop(self) -> None:
        self.should_exit = True
        self._loop.call_soon_threadsafe(self._stopping.set)


class Running:
    """A server running in a thread; ``stop`` ends it (for tests of a server going away)."""

    def __init__(self, server: _Server, thread: threading.Thread, sock: socket.socket):
        self._server, self._thread, self._sock = server, thread, sock

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.stop()
        self._thread.join(timeout=10)
        self._sock.close()


@contextmanager
def serve(app: Any, sock: socket.socket, **options: Any) -> Iterator[Running]:
    """Serve ``app`` on ``sock`` until the block exits; lifespan runs for real. ``options`` go
    to uvicorn (``ssl_certfile`` and ``ssl_keyfile`` for HTTPS). As `hospiai` serves by default,
    no forwarded header is read (uvicorn's own default believes them from 127.0.0.1)."""
    options = {"proxy_headers": False, **options}
    config = uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False, **options)
    server = _Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    running = Running(server, thread, sock)
    try:
        yield running
    finally:
        running.stop()

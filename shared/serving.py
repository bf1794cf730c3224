"""Serving either service with uvicorn: listen settings, graceful stop, forwarded headers."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import signal
import socket
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar

import uvicorn
from starlette.types import ASGIApp

from shared import logs
from shared.settings import SettingsError, environ

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# The collector's thresholds once serving (generation 0, 1, 2; Python's are 700, 10, 10).
GC_THRESHOLDS = (10_000, 10, 10)


class Listening(Protocol):
    """What serving needs of either service's settings."""

    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def shutdown_timeout(self) -> int: ...
    @property
    def forwarded_allow_ips(self) -> tuple[str, ...]: ...
    @property
    def access_log(self) -> bool: ...


@dataclass(frozen=True)
class Loopback:
    """Listening on loopback, as the benchmark's servers and the tests' do."""

    port: int
    host: str = "127.0.0.1"
    shutdown_timeout: int = 5
    forwarded_allow_ips: tuple[str, ...] = ()
    access_log: bool = False


class Server(uvicorn.Server):
    """uvicorn's graceful stop on SIGTERM or SIGINT (stop accepting, let requests in flight
    finish within the timeout, run the lifespan shutdown), then a normal exit with status 0.
    uvicorn itself raises the signal again once it has stopped, so the process would die of
    it (status 143) and a clean, requested stop would look like a crash.

    ``own_signals=False``: several servers on one loop, whose owner handles the signals for
    all of them (``hospiai dev``)."""

    def __init__(self, config: uvicorn.Config, *, own_signals: bool = True) -> None:
        super().__init__(config)
        self.own_signals = own_signals

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """After the app's own start-up (uvicorn runs the lifespan first), as it begins to
        listen."""
        await super().startup(sockets)
        settle_memory()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if not self.own_signals:
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in _STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def settle_memory() -> None:
    """Everything built by start-up (modules, the app, its routes and templates) lives as long
    as the process: ``gc.freeze`` takes it out of the collector's sight, so that no collection
    walks it again. And generation 0 is collected after 10,000 new objects instead of 700: a
    request allocates hundreds, so Python's default collected every few requests, each time
    walking what the requests in flight hold. Together they had taken 19-44 % of the MCP
    server's event loop; tools/call went 1.47-1.79x faster, p99 168 -> 55 ms (issue 14).
    Not higher: each MCP request leaves a reference cycle (the SDK's per-request runner holds
    its own bound methods), only a collection frees it, and at 50,000 the MCP server carried
    7 MiB more of them after load (161 against 154 MiB) for no throughput measured (the same
    CPU per tools/call within 2 %, which Python's 700 costs 16 % more of)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    _tune_allocator()


# glibc's mallopt parameters: the size from which a block is mapped on its own, and how many
# heaps (arenas) threads may spread over.
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1 << 20
_M_ARENA_MAX = -8
ARENA_MAX = 2


def _tune_allocator() -> None:
    """Blocks of a MiB and more are mapped on their own and given back to the system when
    freed. glibc's default raises that threshold to the size of the last such block freed, so
    after the first login every argon2id buffer (19 MiB) came from the thread's heap and stayed
    there after the check. And the worker threads share two heaps instead of one each (glibc
    allows eight per core): each heap keeps what its threads freed, and the MCP server's
    eighteen threads held 5 MiB more after the benchmark's load for it (147 against 142 MiB;
    its target is 150). Python allocates under its own lock, so the threads hardly ever wait
    for a heap. Other C libraries (musl) have no mallopt and return large blocks already."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        libc.mallopt(_M_ARENA_MAX, ARENA_MAX)


def serve(app: ASGIApp, settings: Listening) -> None:
    """Run one service in the foreground until it is asked to stop."""
    Server(config(app, settings)).run()


def config(app: ASGIApp, settings: Listening) -> uvicorn.Config:
    """What production runs, and what `make bench` measures (benchmarks/servers.py)."""
    # X-Forwarded-For/-Proto are read only from the configured proxies (uvicorn's own default
    # would trust 127.0.0.1, or whatever FORWARDED_ALLOW_IPS says). They set the client address
    # and the scheme, never Host, and the services build their URLs from their settings (only
    # Starlette's redirect of a stray trailing slash follows the request: https behind Caddy).
    proxies = settings.forwarded_allow_ips
    # No uvicorn access log unless asked for: one JSON line per request cost 29 % of
    # /introspect's throughput (issue 14). Requests are counted by route in the metrics,
    # security events are in the audit log, tool calls on health data in the MCP server's
    # access log, and the proxy in front (Caddy) can log each request at the edge.
    return uvicorn.Config(
        app, host=settings.host, port=settings.port, loop="uvloop", http="httptools",
        log_config=None, access_log=settings.access_log,
        timeout_graceful_shutdown=settings.shutdown_timeout,
        proxy_headers=bool(proxies), forwarded_allow_ips=list(proxies) if proxies else None,
    )


Configured = TypeVar("Configured", bound=Listening)


def run(
    create_app: Callable[[Configured], ASGIApp],
    from_env: Callable[[Mapping[str, str]], Configured],
    log_level: str = "info",
) -> int:
    """A service's production entry point: settings from the environment, validated at
    start-up (exit 2 with the reason), then served until stopped. A schema behind the code
    fails the lifespan start-up, which uvicorn logs and exits on (status 3). ``log_level``:
    one of logs.LEVELS (`--log-level`)."""
    logs.configure(log_level, structured=True)
    try:
        settings = from_env(environ())
    except SettingsError as error:
        print(f"hospiai: configuration error: {error}", file=sys.stderr)
        return 2
    serve(create_app(settings), settings)
    return 0

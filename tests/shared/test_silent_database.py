"""A PostgreSQL host that goes silent (a partition, a host frozen or powered off: no reset ever
comes) is given up on within shared.session_bounds' TCP bounds, not after TCP's system
defaults (two hours idle, about fifteen minutes for unacknowledged data).

The silence is real: the client runs in a network namespace of its own, joined by a veth pair
to a second one, which relays to the test server through Unix sockets (they cross namespaces).
Taking the veth down drops every packet without a word, as a cut cable does (each end knows
the other's hardware address already). The bounds are
shortened for the test, as tests/shared/test_database.py shortens the idle-in-transaction one.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.databases import Databases, postgresql_only

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ADDRESS, RELAY_ADDRESS, RELAY_PORT = "10.231.0.1", "10.231.0.2", 6543

# Relays bytes between a listener and a target, each a TCP "host:port" or a Unix socket path.
RELAY = """
import asyncio, sys

def endpoint(spec):
    host, _, port = spec.rpartition(":")
    return {"host": host, "port": int(port)} if host else {"path": spec}

async def pump(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()

async def relay(reader, writer):
    target = endpoint(sys.argv[2])
    opened = asyncio.open_connection if "host" in target else asyncio.open_unix_connection
    up_reader, up_writer = await opened(**target)
    await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer),
                         return_exceptions=True)

async def main():
    listen = endpoint(sys.argv[1])
    serve = asyncio.start_server if "host" in listen else asyncio.start_unix_server
    server = await serve(relay, **listen)
    print("listening", flush=True)
    await server.serve_forever()

asyncio.run(main())
"""

# One session through the relay. The host goes silent before it connects, between two
# queries or during one: the client is told on its standard input, then times what follows.
CLIENT = """
import sys, time
import psycopg
from shared import session_bounds
short = {"keepalives_idle": "1", "keepalives_interval": "1", "keepalives_count": "2",
         "tcp_user_timeout": "2000", "connect_timeout": "2"}
for name in short.keys() & session_bounds.TCP.keys():  # shortened: one the code lacks stays so
    session_bounds.TCP[name] = short[name]
from sqlalchemy import text
from shared.database import create_db_engine

engine, connecting = create_db_engine(sys.argv[1]), sys.argv[2].startswith("connecting")
try:
    if connecting:
        print("ready", flush=True)
        sys.stdin.readline()
    started = time.monotonic()
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
        print("ready", flush=True)
        sys.stdin.readline()
        started = time.monotonic()
        connection.execute(text("SELECT pg_sleep(600)"))
    print("answered", flush=True)
except Exception as error:  # psycopg's, or SQLAlchemy's around it
    lost = isinstance(getattr(error, "orig", error), psycopg.OperationalError)
    print("failed", "OperationalError" if lost else repr(error).replace(" ", "_"),
          round(time.monotonic() - started, 1), flush=True)
"""


def _ip(*args: str) -> str:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    assert done.returncode == 0, f"ip {' '.join(args)}: {done.stderr.strip()}"
    return done.stdout


@pytest.fixture
def namespaces() -> Iterator[tuple[str, str]]:
    """The client's namespace and the relay's, joined by a veth pair named after the client's."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI runs as root with iproute2: the silent-host tests must run")
        pytest.skip("network namespaces need root and iproute2's ip")
    tag = uuid.uuid4().hex[:8]
    client, relay = f"hospiai-c{tag}", f"hospiai-r{tag}"
    _ip("netns", "add", client)
    try:
        _ip("netns", "add", relay)
        try:
            _ip("link", "add", "veth-c", "netns", client, "type", "veth", "peer", "name",
                "veth-r", "netns", relay)
            ends = ((client, "veth-c", CLIENT_ADDRESS), (relay, "veth-r", RELAY_ADDRESS))
            for name, device, address in ends:
                _ip("-n", name, "addr", "add", f"{address}/30", "dev", device)
                _ip("-n", name, "link", "set", device, "up")
                _ip("-n", name, "link", "set", "lo", "up")
            # Each end knows the other's hardware address for good, as on a network that has
            # been up for a while: a cut link then drops packets without a word, where an
            # address still to resolve fails a connect with "no route to host" in seconds.
            for (name, device, _), (peer, peer_device, peer_address) in (ends, ends[::-1]):
                mac = json.loads(_ip("-j", "-n", peer, "link", "show", "dev", peer_device))
                _ip("-n", name, "neigh", "replace", peer_address, "lladdr", mac[0]["address"],
                    "dev", device, "nud", "permanent")
            yield client, relay
        finally:
            _ip("netns", "del", relay)
    finally:
        _ip("netns", "del", client)


def _started(processes: list[subprocess.Popen[str]], command: list[str]) -> None:
    """A relay, added to ``processes`` (all killed at the end), once it listens."""
    process: subprocess.Popen[str] = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    processes.append(process)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "listening"


@postgresql_only
@pytest.mark.parametrize(
    "moment", ["connecting", "between queries", "during a query", "connecting to a frozen server"]
)
def test_a_silent_database_host_fails_the_query_within_the_tcp_bounds(
    databases: Databases, namespaces: tuple[str, str], tmp_path: Path, moment: str
) -> None:
    client_ns, relay_ns = namespaces
    url = make_url(databases.url("auth", "authserver"))
    socket_path = str(tmp_path / "database.sock")
    relayed = url.set(host=RELAY_ADDRESS, port=RELAY_PORT).render_as_string(hide_password=False)
    processes: list[subprocess.Popen[str]] = []
    try:
        _started(processes, [sys.executable, "-c", RELAY, socket_path, f"{url.host}:{url.port}"])
        _started(processes, ["ip", "netns", "exec", relay_ns, sys.executable, "-c", RELAY,
                             f"{RELAY_ADDRESS}:{RELAY_PORT}", socket_path])
        client = subprocess.Popen(
            ["ip", "netns", "exec", client_ns, sys.executable, "-c", CLIENT, relayed, moment],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
        )
        processes.append(client)
        assert client.stdout is not None and client.stdin is not None
        assert client.stdout.readline().strip() == "ready"
        if moment == "connecting to a frozen server":
            # Its kernel still opens connections and takes their bytes; nothing answers.
            processes[1].send_signal(signal.SIGSTOP)
        elif moment != "during a query":
            _ip("-n", relay_ns, "link", "set", "veth-r", "down")
        client.stdin.write("\n")
        client.stdin.flush()
        if moment == "during a query":
            _wait_for_the_query(url.render_as_string(hide_password=False))
            _ip("-n", relay_ns, "link", "set", "veth-r", "down")
        # Without the bounds the client waits for TCP's defaults: this times out.
        outcome, _ = client.communicate(timeout=30)
        verdict, error, seconds = outcome.split()
        assert (verdict, error) == ("failed", "OperationalError"), outcome
        assert 1.0 <= float(seconds) <= 15, outcome
    finally:
        for process in processes:
            process.kill()
            process.communicate()


def _wait_for_the_query(url: str) -> None:
    """Until the server runs the client's query: sent and acknowledged, its answer awaited."""
    deadline = time.monotonic() + 10
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as db:
        while time.monotonic() < deadline:
            running = db.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(600)' "
                "AND state = 'active' AND datname = current_database()"
            ).fetchone()
            if running and running[0]:
                return
            time.sleep(0.05)
    raise AssertionError("the client's query never reached the server")

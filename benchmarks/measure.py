"""wrk runs pinned to the load core, and side-by-side comparisons in alternating rounds."""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psycopg
from sqlalchemy.engine import make_url

# 5 s rounds: a run of every section stays under 10 minutes (issue 14).
DURATION = os.environ.get("BENCH_DURATION", "5s")
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SERVER_CORE, LOAD_CORE = "0", "1"

Run = Callable[[], dict[str, float]]
# The server process listening on each port, whose CPU time each load is charged with.
_PIDS: dict[int, int] = {}


def watch(port: int, process: subprocess.Popen[bytes]) -> None:
    """Charge the loads sent to ``port`` with ``process``'s CPU time (see wrk_script)."""
    _PIDS[port] = process.pid


def start(
    kind: str, port: int, config_path: Path, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """One of benchmarks.servers on the server core; ``cwd``: from another checkout's code."""
    process = subprocess.Popen(
        ["taskset", "-c", SERVER_CORE, sys.executable, "-m", "benchmarks.servers", kind,
         str(port), str(config_path)],
        cwd=cwd,
    )
    watch(port, process)
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return process
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{kind} did not start") from None
            time.sleep(0.1)


def request_script(
    method: str, body: str, headers: dict[str, str], work: Path, name: str = "request"
) -> Path:
    """A wrk script sending the same request every time; ``name``: for scripts that alternate."""
    script = work / f"{name}.lua"
    lines = [f'wrk.method = "{method}"', f"wrk.body = {json.dumps(body)}"]
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    script.write_text("\n".join(lines) + "\n")
    return script


def wrk(url: str, method: str, body: str, headers: dict[str, str], work: Path) -> dict[str, float]:
    return wrk_script(url, request_script(method, body, headers, work))


def _cpu_seconds(pid: int | None) -> float:
    """User and system time of a process so far (/proc/<pid>/stat, fields 14 and 15)."""
    if pid is None:
        return math.nan
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk_script(
    url: str, script: Path, duration: str = DURATION, connections: int = CONNECTIONS
) -> dict[str, float]:
    """Requests a second, p99, non-2xx answers, and the server's CPU time per request: the
    figure other work on a shared machine changes least (the server's core may be lent out, its
    work per request stays)."""
    pid = _PIDS.get(urlsplit(url).port or 80)
    before = _cpu_seconds(pid)
    output = subprocess.run(
        ["taskset", "-c", LOAD_CORE, "wrk", "-t1", f"-c{connections}", f"-d{duration}",
         "--latency", "-s", str(script), url],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout
    cpu = _cpu_seconds(pid) - before
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", output)
    assert p99, output
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return {"rps": rps, "p99_ms": float(p99.group(1)) * scale,
            "errors": float(non_2xx.group(1)) if non_2xx else 0.0,
            "cpu_us": cpu * 1e6 / requests if requests else math.nan}


def line(name: str, figures: dict[str, float]) -> str:
    return (f"  {name:44} {figures['rps']:9.0f} req/s   p99 {figures['p99_ms']:8.2f} ms"
            f"   non-2xx {figures['errors']:.0f}   server CPU {figures['cpu_us']:6.0f} us/req")


def compare(title: str, target: float, baseline: tuple[str, Run], measured: tuple[str, Run],
            references: Sequence[tuple[str, Run]] = ()) -> list[dict[str, float]]:
    """Alternating rounds, so that drift in a shared machine's speed hits both sides alike.
    ``references``, measured in the same rounds, have their ratios printed without a target.
    Returns the measured side's figures, round by round."""
    sides = [baseline, *references, measured]
    rounds = [[run() for _, run in sides] for _ in range(ROUNDS)]
    print(f"{title} ({ROUNDS} alternating rounds)")
    for index, figures in enumerate(rounds, 1):
        for (name, _), side in zip(sides, figures, strict=True):
            print(line(f"{index}: {name}", side))
    for position, (name, _) in enumerate(sides[1:], 1):
        ratios = sorted(_ratio(figures[position]["rps"], figures[0]["rps"]) for figures in rounds)
        goal = f"target >= {target:.2f}" if position == len(sides) - 1 else "no target"
        print(f"  {name}: ratios {', '.join(f'{ratio:.2f}' for ratio in ratios)}; "
              f"median {ratios[len(ratios) // 2]:.2f} ({goal})")
    for position, (name, _) in enumerate(sides[1:], 1):
        # Load-independent: the baseline's CPU per request over this side's, round by round.
        cpu = sorted(_ratio(side[0]["cpu_us"], side[position]["cpu_us"]) for side in rounds)
        print(f"  {name}: by server CPU per request {', '.join(f'{r:.2f}' for r in cpu)}; "
              f"median {cpu[len(cpu) // 2]:.2f}")
    for position, (name, _) in enumerate(sides):
        print(f"  {name}: median {median([r[position]['rps'] for r in rounds]):.0f} req/s, "
              f"median p99 {median([r[position]['p99_ms'] for r in rounds]):.1f} ms, "
              f"median CPU {median([r[position]['cpu_us'] for r in rounds]):.0f} us/req")
    print()
    return [figures[-1] for figures in rounds]


def _ratio(measured: float, baseline: float) -> float:
    """Not a number when the baseline round answered nothing (an overloaded machine), so the
    run goes on and prints what it has."""
    return measured / baseline if baseline else math.nan


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def rss(processes: dict[str, subprocess.Popen[bytes]]) -> str:
    """Each server's resident memory, from /proc."""
    sizes = []
    for kind, process in processes.items():
        status = Path(f"/proc/{process.pid}/status").read_text().splitlines()
        kib = int(next(line for line in status if line.startswith("VmRSS:")).split()[1])
        sizes.append(f"{kind} {kib / 1024:.0f} MiB")
    return ", ".join(sizes)


@contextmanager
def database(backend: str, work: Path) -> Iterator[str]:
    """A fresh database for one section: a SQLite file in ``work``, or a PostgreSQL database
    created on HOSPIAI_TEST_POSTGRES_URL's server and dropped after."""
    if backend == "sqlite":
        yield f"sqlite:///{work / 'bench.sqlite3'}"
        return
    server = make_url(os.environ["HOSPIAI_TEST_POSTGRES_URL"])
    name = f"hospiai_bench_{secrets.token_hex(4)}"
    admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

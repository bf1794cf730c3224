"""node-oidc-provider 9 on Node 22 (``oidc-provider/``: package.json and package-lock.json pin
every version, server.mjs configures it, sqlite_adapter.mjs stores on node:sqlite), installed
with ``npm ci`` through ``npx -p node@22``: the `node` package brings Node 22 from the npm
registry, so nothing but Debian's npm is needed. Run on the server core as our servers are."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path

import httpx

from benchmarks.measure import SERVER_CORE
from tests.servers import wait_until_answering

FOLDER = Path(__file__).with_name("oidc-provider")
# A cold npx fetches Node 22 first, a cold npm ci the provider.
INSTALL_TIMEOUT = 300
VERSION = json.loads((FOLDER / "package.json").read_text())["dependencies"]["oidc-provider"]


class Unavailable(Exception):
    """The peer could not be installed here (no npx, no registry): the reason, in one line."""


def install() -> str:
    """The Node 22 binary, with the locked packages installed next to server.mjs."""
    npx = shutil.which("npx")
    if npx is None:
        raise Unavailable("npx is missing (apt-get install npm)")
    node = [npx, "-y", "-p", "node@22", "--"]
    try:
        for command in (["npm", "ci", "--no-audit", "--no-fund"],
                        ["node", "-p", "process.execPath"]):
            done = subprocess.run([*node, *command], cwd=FOLDER, capture_output=True, text=True,
                                  timeout=INSTALL_TIMEOUT, check=False)
            if done.returncode != 0:
                raise Unavailable(f"`{' '.join(command)}` failed: {_reason(done.stderr)}")
    except subprocess.TimeoutExpired as timeout:
        raise Unavailable(f"`{' '.join(timeout.cmd[len(node):])}` took over "
                          f"{INSTALL_TIMEOUT} s") from None
    return done.stdout.strip()


def _reason(stderr: str) -> str:
    """npm's message, without the code, syscall and errno lines before it."""
    lines = stderr.strip().splitlines()
    said = [line for line in lines if not re.match(r"npm error (code|syscall|errno) ", line)]
    return (said or lines or ["no message"])[0]


class Peer:
    """One oidc-provider process on a fresh SQLite file in ``work``, with a resource server
    client (client_secret_basic) allowed to introspect and a public client that refreshes."""

    def __init__(self, node: str, work: Path, port: int, control_port: int, resource: str) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.control = f"http://127.0.0.1:{control_port}"
        self.client_id = "bench"
        self.introspector = ("resource-server", secrets.token_urlsafe(32))
        config = work / "oidc-provider.json"
        config.write_text(json.dumps({
            "port": port, "control_port": control_port, "issuer": self.url,
            "database": str(work / "oidc-provider.sqlite3"), "resource": resource,
            "introspector": {"client_id": self.introspector[0],
                             "client_secret": self.introspector[1]},
            "client_id": self.client_id,
        }))
        self.log = work / "oidc-provider.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                ["taskset", "-c", SERVER_CORE, node, "--no-warnings", "server.mjs", str(config)],
                cwd=FOLDER, env={**os.environ, "NODE_ENV": "production"}, stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_until_answering(f"{self.control}/", self.process)
            wait_until_answering(f"{self.url}/", self.process)
        except AssertionError:
            self.stop()
            raise RuntimeError(f"oidc-provider did not start: {self.log.read_text()}") from None

    def seed(self, kind: str, count: int) -> list[str]:
        """``count`` access or refresh tokens of as many grants, stored by the provider."""
        answer = httpx.post(f"{self.control}/seed", params={"kind": kind, "count": count},
                            timeout=300)
        answer.raise_for_status()
        return list(answer.json())

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)

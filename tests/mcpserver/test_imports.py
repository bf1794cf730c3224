"""Started as production starts it, the MCP server loads nothing of the authorization server:
no ``authserver`` module and no Authlib (issue 11), and on SQLite no psycopg (issue 14)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import free_port

# It starts processes: handed out first, so that it never ends the run (tests/conftest.py).
pytestmark = pytest.mark.processes

# Builds the app exactly as `hospiai mcpserver` does, then lists every loaded module instead
# of serving.
_WRAPPER = """
import sys
import shared.serving
shared.serving.serve = lambda app, settings: print("\\n".join(sorted(sys.modules)))
from hospiai.cli import main
sys.exit(main(["mcpserver"]))
"""


@pytest.mark.parametrize("entry", ["hospiai", "python -m mcpserver"])
def test_starting_the_mcp_server_imports_no_authserver_or_authlib(
    tmp_path: Path, entry: str
) -> None:
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOSPIAI_MCP_URL": f"http://127.0.0.1:{port}/mcp",
        "HOSPIAI_ISSUER": f"http://127.0.0.1:{free_port()}",
        "HOSPIAI_MCP_CLIENT_ID": "rs_imports",
        "HOSPIAI_MCP_CLIENT_SECRET": "hospiai_rs_imports",
        "HOSPIAI_MCP_DATABASE_URL": f"sqlite:///{tmp_path / 'mcp.sqlite3'}",
    }
    code = _WRAPPER if entry == "hospiai" else _WRAPPER.replace(
        'from hospiai.cli import main\nsys.exit(main(["mcpserver"]))',
        'import runpy\nrunpy.run_module("mcpserver", run_name="__main__")',
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=Path.cwd(),
                            capture_output=True, text=True, timeout=60)
    modules = result.stdout.split()
    assert "mcpserver.app" in modules and "fastmcp" in modules, result.stderr
    loaded = [name for name in modules if name.split(".")[0] in {"authserver", "authlib"}]
    assert loaded == []
    # On SQLite, nor PostgreSQL's driver either: 9 MiB of its RSS (issue 14).
    assert "psycopg" not in modules

"""The ``hospiai`` command: run a service, and provision accounts, clients and resource servers."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from hospiai.parser import parser
from shared import logs
from shared.migrations import SchemaError
from shared.settings import SettingsError, environ


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "dev":
        # uvicorn's own lines would come twice (two servers in one process) and repeat the
        # banner; its warnings and errors still show.
        logs.configure(args.log_level, structured=False, quiet=("uvicorn.error",))
    else:
        logs.configure(getattr(args, "log_level", "info"), structured=True)
    if args.command in ("authserver", "mcpserver"):
        return _serve(args)
    try:
        return _run(args)
    except SchemaError as error:
        print(f"hospiai: {error}", file=sys.stderr)
        return 1


def _serve(args: argparse.Namespace) -> int:
    # Each service is imported only by its own subcommand: the MCP server's process never
    # loads the authorization server or Authlib, and neither service imports this module.
    if args.command == "authserver":
        from authserver.__main__ import main as serve_authserver

        return serve_authserver(args.log_level)
    if args.stdio:
        from mcpserver.stdio import main as serve_stdio

        return serve_stdio()
    from mcpserver.__main__ import main as serve_mcpserver

    return serve_mcpserver(args.log_level)


def _run(args: argparse.Namespace) -> int:
    if args.command == "dev":
        from hospiai.dev import run_dev

        return run_dev(Path(args.data_dir), auth_port=args.auth_port, mcp_port=args.mcp_port)
    if args.command == "db":
        from hospiai.schema import upgrade_databases

        return upgrade_databases()
    from authserver.settings import Settings
    from hospiai.provision import provision

    try:
        settings = Settings.from_env(environ())
    except SettingsError as error:
        print(f"hospiai: configuration error: {error}", file=sys.stderr)
        return 2
    return provision(args, settings)


if __name__ == "__main__":
    sys.exit(main())

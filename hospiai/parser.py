"""The ``hospiai`` command line: its subcommands and their options (argparse), nothing run."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TypeAlias

from shared import logs

# A type only (argparse's class takes no subscript at run time).
Actions: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hospiai", description="HospiAI Connect")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_services(commands)
    accounts = _family(commands, "accounts", "manage accounts")
    account = accounts.add_parser("create", help="create an account")
    account.add_argument("--email", required=True)
    account.add_argument("--given-name", required=True)
    account.add_argument("--family-name", required=True)
    account.add_argument("--phone")
    account.add_argument("--role", default="patient", choices=["patient", "staff", "admin"])
    account.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    _add_import(accounts, "accounts (CSV or JSON lines) with their password hashes")

    tokens = _family(commands, "tokens", "HospiAI's tokens from before the move")
    _add_import(tokens, "the records of HospiAI's tokens (CSV or JSON lines)").add_argument(
        "--resource", help="the audience they were used at (default: HOSPIAI_DEFAULT_RESOURCE)"
    )
    _add_registrations(commands)
    _add_memberships(commands)
    _add_maintenance(commands)
    return parser


def _family(commands: Actions, name: str, text: str) -> Actions:
    """A command family (``hospiai accounts``), whose subcommand is its ``action``."""
    return commands.add_parser(name, help=text).add_subparsers(dest="action", required=True)


def _add_services(commands: Actions) -> None:
    authserver = commands.add_parser("authserver", help="run the authorization server")
    mcpserver = commands.add_parser("mcpserver", help="run the MCP server")
    mcpserver.add_argument(
        "--stdio", action="store_true",
        help="serve over standard input and output for a desktop assistant, as the user of "
        "the personal access token in HOSPIAI_TOKEN",
    )
    dev = commands.add_parser(
        "dev", help="run both services on localhost with demo data (what `make run` calls)"
    )
    dev.add_argument("--auth-port", type=int, default=9000)
    dev.add_argument("--mcp-port", type=int, default=8000)
    dev.add_argument("--data-dir", default=".data")
    for service in (authserver, mcpserver, dev):
        service.add_argument(
            "--log-level", default="info", choices=logs.LEVELS,
            help="debug shows everything, the libraries' start-up chatter included "
            "(default: info)",
        )


def _add_memberships(commands: Actions) -> None:
    memberships = _family(commands, "memberships", "the hospitals staff accounts belong to")
    for action, text in (("add", "let a staff account change a hospital's data"),
                         ("remove", "take a hospital from a staff account"),
                         ("list", "the hospitals an account belongs to")):
        parser = memberships.add_parser(action, help=text)
        parser.add_argument("--email", required=True)
        if action != "list":
            parser.add_argument("--hospital-id", required=True)


def _add_import(actions: Actions, what: str) -> argparse.ArgumentParser:
    imported = actions.add_parser("import", help=f"import {what}; a bad row is reported, skipped")
    imported.add_argument("file", type=Path)
    imported.add_argument(
        "--dry-run", action="store_true", help="print what would change, and change nothing"
    )
    return imported


def _add_registrations(commands: Actions) -> None:
    clients = _family(commands, "clients", "manage clients")
    client = clients.add_parser("create", help="pre-register a client; prints its secret once")
    client.add_argument("--name", required=True)
    client.add_argument("--redirect-uri", action="append", default=[], dest="redirect_uris")
    client.add_argument("--public", action="store_true", help="a public client (no secret)")
    client.add_argument(
        "--service", action="store_true",
        help="a service client: client credentials for the service API (admin:tokens)",
    )
    client.add_argument("--scope", default="", help="scopes it may request (default: all)")

    servers = _family(commands, "resource-servers", "manage resource servers")
    server = servers.add_parser("create", help="register a resource; prints its secret once")
    server.add_argument("--resource", required=True, help="the resource URI (token audience)")
    server.add_argument("--name", required=True)
    rotate = servers.add_parser(
        "rotate", help="give a resource server a new secret; prints it once"
    )
    rotate.add_argument("resource_server_id", metavar="ID", help="its resource_server_id")
    # A string, checked by the command: a bad value gets one line, not argparse's usage.
    rotate.add_argument(
        "--grace-minutes", default="0", metavar="N",
        help="the old secret keeps working N more minutes, up to 1440 (default: 0, it stops "
        "at once)",
    )


def _add_maintenance(commands: Actions) -> None:
    maintenance = _family(commands, "maintenance", "database maintenance")
    maintenance.add_parser(
        "purge", help="delete expired and spent rows and unused dynamic clients, now"
    )
    db = _family(commands, "db", "database schema")
    db.add_parser(
        "upgrade",
        help="migrate both services' databases (HOSPIAI_AUTH_DATABASE_URL, "
        "HOSPIAI_MCP_DATABASE_URL) to this version's schema",
    )

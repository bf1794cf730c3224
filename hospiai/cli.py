"""The ``hospiai`` command: run a service, and provision accounts, clients and resource servers."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from shared import logs
from shared.clock import unix_now
from shared.database import SQLStore, create_db_engine
from shared.migrations import SchemaError
from shared.settings import SettingsError, environ

if TYPE_CHECKING:
    from authserver.settings import Settings as AuthSettings
    from authserver.store import Store


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hospiai", description="HospiAI Connect")
    commands = parser.add_subparsers(dest="command", required=True)
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

    accounts = commands.add_parser("accounts", help="manage accounts").add_subparsers(
        dest="action", required=True
    )
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

    tokens = commands.add_parser(
        "tokens", help="HospiAI's tokens from before the move"
    ).add_subparsers(dest="action", required=True)
    _add_import(tokens, "the records of HospiAI's tokens (CSV or JSON lines)").add_argument(
        "--resource", help="the audience they were used at (default: HOSPIAI_DEFAULT_RESOURCE)"
    )
    _add_registrations(commands)
    _add_memberships(commands)
    _add_maintenance(commands)
    return parser


def _add_memberships(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    memberships = commands.add_parser(
        "memberships", help="the hospitals staff accounts belong to"
    ).add_subparsers(dest="action", required=True)
    for action, text in (("add", "let a staff account change a hospital's data"),
                         ("remove", "take a hospital from a staff account"),
                         ("list", "the hospitals an account belongs to")):
        parser = memberships.add_parser(action, help=text)
        parser.add_argument("--email", required=True)
        if action != "list":
            parser.add_argument("--hospital-id", required=True)


def _add_import(
    actions: argparse._SubParsersAction[argparse.ArgumentParser], what: str
) -> argparse.ArgumentParser:
    imported = actions.add_parser("import", help=f"import {what}; a bad row is reported, skipped")
    imported.add_argument("file", type=Path)
    imported.add_argument(
        "--dry-run", action="store_true", help="print what would change, and change nothing"
    )
    return imported


def _add_registrations(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    clients = commands.add_parser("clients", help="manage clients").add_subparsers(
        dest="action", required=True
    )
    client = clients.add_parser("create", help="pre-register a client; prints its secret once")
    client.add_argument("--name", required=True)
    client.add_argument("--redirect-uri", action="append", default=[], dest="redirect_uris")
    client.add_argument("--public", action="store_true", help="a public client (no secret)")
    client.add_argument(
        "--service", action="store_true",
        help="a service client: client credentials for the service API (admin:tokens)",
    )
    client.add_argument("--scope", default="", help="scopes it may request (default: all)")

    servers = commands.add_parser(
        "resource-servers", help="manage resource servers"
    ).add_subparsers(dest="action", required=True)
    server = servers.add_parser("create", help="register a resource; prints its secret once")
    server.add_argument("--resource", required=True, help="the resource URI (token audience)")
    server.add_argument("--name", required=True)


def _add_maintenance(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    maintenance = commands.add_parser(
        "maintenance", help="database maintenance"
    ).add_subparsers(dest="action", required=True)
    maintenance.add_parser(
        "purge", help="delete expired and spent rows and unused dynamic clients, now"
    )
    db = commands.add_parser("db", help="database schema").add_subparsers(
        dest="action", required=True
    )
    db.add_parser(
        "upgrade",
        help="migrate both services' databases (HOSPIAI_AUTH_DATABASE_URL, "
        "HOSPIAI_MCP_DATABASE_URL) to this version's schema",
    )


def _upgrade_databases() -> int:
    # Each service is imported only by the subcommands that need it (the MCP server process
    # never loads Authlib or the authorization server's tables).
    from authserver.settings import Settings
    from authserver.store import Store
    from mcpserver.domain.store import DomainStore
    from mcpserver.settings import Settings as McpSettings

    env = environ()
    stores: list[SQLStore] = [
        Store(create_db_engine(Settings.database_url_from_env(env))),
        DomainStore(create_db_engine(McpSettings.database_url_from_env(env))),
    ]
    for store in stores:
        try:
            before, after = store.upgrade_schema()
        finally:
            store.dispose()
        state = "up to date" if before == after else f"upgraded from {_revisions(before)}"
        print(f"{store.SERVICE}: at {_revisions(after)} ({state})")
    return 0


def _revisions(revisions: set[str]) -> str:
    return ", ".join(sorted(revisions)) or "none (empty)"


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return getpass.getpass("Password: ")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "dev":
        # uvicorn's own lines would come twice (two servers in one process) and repeat the
        # banner; its warnings and errors still show.
        logs.configure(args.log_level, structured=False, quiet=("uvicorn.error",))
    else:
        logs.configure(getattr(args, "log_level", "info"), structured=True)
    # Each service is imported only by its own subcommand: the MCP server's process never
    # loads the authorization server or Authlib, and neither service imports this module.
    if args.command == "mcpserver" and args.stdio:
        from mcpserver.stdio import main as serve_stdio

        return serve_stdio()
    if args.command == "mcpserver":
        from mcpserver.__main__ import main as serve_mcpserver

        return serve_mcpserver(args.log_level)
    if args.command == "authserver":
        from authserver.__main__ import main as serve_authserver

        return serve_authserver(args.log_level)
    try:
        return _run(args)
    except SchemaError as error:
        print(f"hospiai: {error}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    if args.command == "dev":
        from hospiai.dev import run_dev

        return run_dev(Path(args.data_dir), auth_port=args.auth_port, mcp_port=args.mcp_port)
    if args.command == "db":
        return _upgrade_databases()
    from authserver.settings import Settings

    try:
        settings = Settings.from_env(environ())
    except SettingsError as error:
        print(f"hospiai: configuration error: {error}", file=sys.stderr)
        return 2
    return _provision(args, settings)


def _provision(args: argparse.Namespace, settings: AuthSettings) -> int:
    from authserver.provisioning import (
        ProvisioningError,
        create_account,
        create_client,
        create_resource_server,
        create_service_client,
    )
    from authserver.security import Keys
    from authserver.store import Store

    store = Store(create_db_engine(settings.database_url))
    store.check_schema()
    keys = Keys(settings.secret_key)
    now = unix_now()
    try:
        if getattr(args, "action", None) == "import":
            return _import(args, settings, store, now)
        if args.command == "accounts":
            account = create_account(
                store,
                email=args.email,
                password=_read_password(args.password_stdin),
                given_name=args.given_name,
                family_name=args.family_name,
                phone=args.phone,
                role=args.role,
                now=now,
            )
            print(f"account_id: {account.id}")
        elif args.command == "memberships":
            return _memberships(args, store, now)
        elif args.command == "maintenance":
            from authserver.maintenance import purge

            for kind, count in purge(settings, store, now).items():
                print(f"{kind}: {count} deleted")
        elif args.command == "clients" and args.service:
            if args.redirect_uris or args.public:
                raise ProvisioningError("a service client has a secret and no redirect URI")
            credentials = create_service_client(
                store, keys, name=args.name, scope=args.scope, now=now
            )
            print(f"client_id: {credentials.id}")
            print(f"client_secret: {credentials.secret}  (shown once; store it now)")
        elif args.command == "clients":
            credentials = create_client(
                store, keys, name=args.name, redirect_uris=args.redirect_uris,
                public=args.public, scope=args.scope, now=now,
            )
            print(f"client_id: {credentials.id}")
            if credentials.secret:
                print(f"client_secret: {credentials.secret}  (shown once; store it now)")
        else:
            credentials = create_resource_server(
                store, keys, resource=args.resource, name=args.name, now=now
            )
            print(f"resource_server_id: {credentials.id}")
            print(f"resource_server_secret: {credentials.secret}  (shown once; store it now)")
    except ProvisioningError as error:
        print(f"hospiai: {error}", file=sys.stderr)
        return 1
    finally:
        store.dispose()
    return 0


def _memberships(args: argparse.Namespace, store: Store, now: int) -> int:
    from authserver.models import AuditEvent
    from authserver.provisioning import ProvisioningError, add_membership

    account = store.account_by_email(args.email)
    if account is None:
        raise ProvisioningError(f"no account has the email {args.email!r}")
    if args.action == "list":
        for hospital_id in store.hospital_ids(account.id):
            print(hospital_id)
        return 0
    if args.action == "add":
        changed = add_membership(store, account_id=account.id, hospital_id=args.hospital_id,
                                 now=now)
    else:
        changed = store.remove_membership(account.id, args.hospital_id, now)
    if changed:
        # The same event as the admin console's, with no actor: whoever runs the command.
        store.record(AuditEvent(
            at=now, event=f"admin.membership_{'added' if args.action == 'add' else 'removed'}",
            detail={"account_id": account.id, "hospital_id": args.hospital_id, "via": "cli"},
        ))
    state = {"add": ("added", "already a member"), "remove": ("removed", "not a member")}
    print(f"{args.email} {args.hospital_id}: {state[args.action][0 if changed else 1]}")
    return 0


def _import(args: argparse.Namespace, settings: AuthSettings, store: Store, now: int) -> int:
    """An import: each refused row on standard error, then the counts; status 1 if any row
    was refused (the others are imported all the same)."""
    from authserver.audit import Audit
    from authserver.imports.accounts import import_accounts
    from authserver.imports.tokens import import_tokens
    from shared.metrics import Metrics

    audit = Audit(store, unix_now, Metrics("authserver"))
    try:
        if args.command == "accounts":
            report = import_accounts(store, audit, args.file, now=now, dry_run=args.dry_run)
        else:
            resource = args.resource or settings.default_resource
            if not resource or store.resource_server_by_resource(resource) is None:
                print(
                    "hospiai: --resource (or HOSPIAI_DEFAULT_RESOURCE) must name a registered"
                    " resource server", file=sys.stderr,
                )
                return 1
            report = import_tokens(
                store, audit, args.file, resource=resource, now=now, dry_run=args.dry_run
            )
    except (OSError, UnicodeDecodeError) as error:
        print(f"hospiai: cannot read {args.file}: {error}", file=sys.stderr)
        return 1
    for line, reason in report.refused:
        print(f"line {line}: {reason}", file=sys.stderr)
    dry = " (dry run: nothing was changed)" if args.dry_run else ""
    print(f"{report.summary()}{dry}")
    return 1 if report.refused else 0


if __name__ == "__main__":
    sys.exit(main())

"""The provisioning commands (accounts, clients, resource servers, memberships, imports,
purge), run on the authorization server's database, then the process ends."""

from __future__ import annotations

import argparse
import sys

from authserver.maintenance import purge
from authserver.provisioning import ProvisioningError
from authserver.security import Keys
from authserver.settings import Settings
from authserver.store import Store
from hospiai import accounts, registrations
from hospiai.imports import import_file
from hospiai.target import Command, Target
from shared.clock import unix_now
from shared.database import create_db_engine


def provision(args: argparse.Namespace, settings: Settings) -> int:
    """Runs the command ``args`` names; status 1 for input it refuses (the reason on standard
    error), and whatever else the command says."""
    store = Store(create_db_engine(settings.database_url))
    try:
        store.check_schema()
        target = Target(settings, store, Keys(settings.secret_key), unix_now())
        return _command(args)(args, target)
    except ProvisioningError as error:
        print(f"hospiai: {error}", file=sys.stderr)
        return 1
    finally:
        store.dispose()


def _command(args: argparse.Namespace) -> Command:
    if args.action == "import":
        return import_file
    commands: dict[tuple[str, str], Command] = {
        ("accounts", "create"): accounts.create,
        ("clients", "create"): registrations.create_client,
        ("resource-servers", "create"): registrations.create_resource_server,
        ("resource-servers", "rotate"): registrations.rotate_resource_server,
        ("memberships", "add"): accounts.memberships,
        ("memberships", "remove"): accounts.memberships,
        ("memberships", "list"): accounts.memberships,
        ("maintenance", "purge"): _purge,
    }
    return commands[(args.command, args.action)]


def _purge(_args: argparse.Namespace, target: Target) -> int:
    for kind, count in purge(target.settings, target.store, target.now).items():
        print(f"{kind}: {count} deleted")
    return 0

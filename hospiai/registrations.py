"""``hospiai clients create`` and ``hospiai resource-servers create|rotate``: pre-registered
clients and resource servers, whose secrets are printed once and stored only as hashes."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime

from authserver import provisioning
from authserver.provisioning import ProvisioningError
from hospiai.target import Target
from shared.clock import PARIS

SECRET_ONCE = "(shown once; store it now)"
# The longest grace a rotation offers, as the admin console's longest choice: long enough to
# reconfigure a resource server, short enough that a leaked old secret soon stops working.
MAX_GRACE_MINUTES = 24 * 60
GRACE_MINUTES = re.compile(r"[0-9]{1,5}")


def create_client(args: argparse.Namespace, target: Target) -> int:
    if args.service:
        if args.redirect_uris or args.public:
            raise ProvisioningError("a service client has a secret and no redirect URI")
        credentials = provisioning.create_service_client(
            target.store, target.keys, name=args.name, scope=args.scope, now=target.now
        )
    else:
        credentials = provisioning.create_client(
            target.store, target.keys, name=args.name, redirect_uris=args.redirect_uris,
            public=args.public, scope=args.scope, now=target.now,
        )
    print(f"client_id: {credentials.id}")
    if credentials.secret:
        print(f"client_secret: {credentials.secret}  {SECRET_ONCE}")
    return 0


def create_resource_server(args: argparse.Namespace, target: Target) -> int:
    credentials = provisioning.create_resource_server(
        target.store, target.keys, resource=args.resource, name=args.name, now=target.now
    )
    print(f"resource_server_id: {credentials.id}")
    print(f"resource_server_secret: {credentials.secret}  {SECRET_ONCE}")
    return 0


def rotate_resource_server(args: argparse.Namespace, target: Target) -> int:
    """The admin console's rotation, with any grace up to its longest; audited as the
    console's (``admin.resource_server_rotated``, the grace in seconds), with no actor and
    ``via: cli`` as the CLI's other admin changes. A bad id or grace changes nothing: status
    2 and one line saying why."""
    given = args.grace_minutes
    if GRACE_MINUTES.fullmatch(given) is None or int(given) > MAX_GRACE_MINUTES:
        return _refuse(
            f"--grace-minutes must be a whole number of minutes from 0 to {MAX_GRACE_MINUTES}"
            f" (24 hours), not {given[:20]!r}"
        )
    grace = int(given) * 60
    rotated = provisioning.rotate_resource_server_secret(
        target.store, target.keys, args.resource_server_id, grace=grace, now=target.now
    )
    if rotated is None:
        return _refuse(f"no resource server has the id {args.resource_server_id[:80]!r}")
    target.audit.record(
        "admin.resource_server_rotated", resource_server_id=args.resource_server_id,
        grace=str(grace), via="cli",
    )
    print(f"resource_server_id: {args.resource_server_id}")
    print(f"resource_server_secret: {rotated.secret}  {SECRET_ONCE}")
    if rotated.previous_until is None:
        print("previous secret: refused from now on")
    else:
        until = datetime.fromtimestamp(rotated.previous_until, UTC).astimezone(PARIS)
        print(f"previous secret: works until {until.isoformat()} (Paris time), and never after;"
              " configure the resource server with the new one before then")
    return 0


def _refuse(reason: str) -> int:
    print(f"hospiai: {reason}", file=sys.stderr)
    return 2

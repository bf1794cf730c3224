"""``hospiai accounts create`` and ``hospiai memberships``: accounts, and the hospitals staff
accounts belong to."""

from __future__ import annotations

import argparse
import getpass
import sys

from authserver.provisioning import ProvisioningError, add_membership, create_account
from hospiai.target import Target


def create(args: argparse.Namespace, target: Target) -> int:
    account = create_account(
        target.store,
        email=args.email,
        password=_read_password(args.password_stdin),
        given_name=args.given_name,
        family_name=args.family_name,
        phone=args.phone,
        role=args.role,
        now=target.now,
    )
    print(f"account_id: {account.id}")
    return 0


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return getpass.getpass("Password: ")


def memberships(args: argparse.Namespace, target: Target) -> int:
    store, now = target.store, target.now
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
        target.audit.record(
            f"admin.membership_{'added' if args.action == 'add' else 'removed'}",
            account_id=account.id, hospital_id=args.hospital_id, via="cli",
        )
    state = {"add": ("added", "already a member"), "remove": ("removed", "not a member")}
    print(f"{args.email} {args.hospital_id}: {state[args.action][0 if changed else 1]}")
    return 0

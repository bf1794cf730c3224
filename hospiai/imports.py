"""``hospiai accounts import`` and ``hospiai tokens import``: HospiAI's records from before
the move, each refused row reported and skipped."""

from __future__ import annotations

import argparse
import sys

from authserver.imports.accounts import import_accounts
from authserver.imports.tokens import import_tokens
from hospiai.target import Target


def import_file(args: argparse.Namespace, target: Target) -> int:
    """An import: each refused row on standard error, then the counts; status 1 if any row
    was refused (the others are imported all the same)."""
    store, audit, now = target.store, target.audit, target.now
    try:
        if args.command == "accounts":
            report = import_accounts(store, audit, args.file, now=now, dry_run=args.dry_run)
        else:
            resource = args.resource or target.settings.default_resource
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

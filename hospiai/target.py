"""What a provisioning command runs against: the authorization server's store and keys."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from authserver.audit import Audit
from authserver.security import Keys
from authserver.settings import Settings
from authserver.store import Store
from shared.metrics import Metrics


@dataclass(frozen=True)
class Target:
    """Opened once per command: the store checked against the code's schema, the keys that
    hash secrets, and the time the command runs at (every row it writes has that time, its
    audit events' too)."""

    settings: Settings
    store: Store
    keys: Keys
    now: int

    @cached_property
    def audit(self) -> Audit:
        """The audit log on the command's clock; its metrics are the process's own, which
        nothing scrapes (the command ends)."""
        return Audit(self.store, lambda: self.now, Metrics("authserver"))


# A provisioning command: its arguments and target in, the process's exit status out.
Command = Callable[[argparse.Namespace, Target], int]

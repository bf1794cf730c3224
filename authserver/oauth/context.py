"""What the OAuth engine needs from the application: settings, store, keys and a clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from authserver.audit import Audit
from authserver.security import Keys
from authserver.settings import Settings
from authserver.store import Store
from shared.clock import unix_now
from shared.metrics import Metrics


@dataclass(frozen=True)
class OAuthContext:
    settings: Settings
    store: Store
    keys: Keys
    clock: Callable[[], int] = field(default=unix_now)
    metrics: Metrics = field(default_factory=lambda: Metrics("authserver"))

    @cached_property
    def audit(self) -> Audit:
        return Audit(self.store, self.clock, self.metrics)

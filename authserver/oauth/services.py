"""What the OAuth engine needs from the application: settings, store, keys, clock, audit, metrics,
legacy tokens.

A Protocol, so that the engine names its needs without importing the application context
(which also holds the pages' templates and login throttle): the context satisfies it
structurally."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from authserver.audit import Audit
from authserver.legacy import LegacyTokens
from authserver.security import Keys
from authserver.settings import Settings
from authserver.store import Store
from authserver.throttle import RegistrationThrottle
from shared.metrics import Metrics


class Services(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def store(self) -> Store: ...

    @property
    def keys(self) -> Keys: ...

    @property
    def clock(self) -> Callable[[], int]: ...

    @property
    def audit(self) -> Audit: ...

    @property
    def metrics(self) -> Metrics: ...

    @property
    def registrations(self) -> RegistrationThrottle: ...

    @property
    def legacy(self) -> LegacyTokens: ...

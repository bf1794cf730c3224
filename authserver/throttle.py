"""Throttling of what anyone may try without an account. Logins: too many failed logins for
one email, or from one network, within the window, and the next attempts are refused before
any password is checked (OWASP Authentication Cheat Sheet, "Protect Against Automated
Attacks"; NIST SP 800-63B 5.2.2). A browser with a known-device cookie for the email (one it
logged in with before, authserver.web.devices) is counted apart, under its own smaller limit
for that email, so an attacker elsewhere who fills the email's limit does not lock its owner
out; the network limit applies to every attempt. Dynamic client registrations (RFC 7591
section 5 leaves rate limiting to the server): too many from one network within the window,
and the next are refused before any is stored.

The state is rows in the database, so every replica counts the same attempts. The limit on an
email applies whether or not an account has it, so the answer never tells which exist. A
success deletes only its own attempt: it never resets a count, so an attacker's own account
cannot unlock anyone else's email, nor its network."""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from typing import Literal, Protocol

from authserver.models import Attempt
from authserver.security import Keys
from authserver.settings import Settings
from authserver.store import RecentAttempts

log = logging.getLogger(__name__)
# Proxy addresses warned about, per process: enough for any real set of proxies.
_WARNINGS = 64


Limit = Literal["account", "device", "network"]


@dataclass(frozen=True)
class Throttled:
    """Refused unchecked: which limit was reached, and the seconds until an attempt counts
    again."""

    limit: Limit
    retry_after: int


def network_of(ip: str | None) -> str | None:
    """What the per-network limit counts under: an IPv4 address, or an IPv6 /64 (what one
    subscriber usually holds, so changing addresses inside it changes nothing)."""
    if ip is None:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


class AttemptStore(Protocol):
    """The part of the store the throttles use: attempts only."""

    def begin_attempt(
        self, attempt: Attempt, *, since: int, account_limit: int, network_limit: int
    ) -> tuple[int, RecentAttempts]: ...

    def end_attempt(self, attempt_id: int) -> None: ...


def _until(limit: Limit, oldest: int, window: int, now: int) -> Throttled:
    """The wait lasts until the oldest of the attempts that fill the limit leaves the window."""
    return Throttled(limit, max(1, oldest + window - now))


class LoginThrottle:
    def __init__(self, settings: Settings, store: AttemptStore, keys: Keys) -> None:
        self._store = store
        self._keys = keys
        self._per_account = settings.login_failures_per_account
        self._per_device = settings.login_failures_per_device
        self._per_network = settings.login_failures_per_network
        self._window = settings.login_failure_window
        self._warned: set[str | None] = set()

    def begin(
        self, email: str, ip: str | None, now: int, device: str | None = None
    ) -> int | Throttled:
        """The attempt's id, if its password may be checked; otherwise why not and how long
        to wait. The attempt counts as a failure unless ``succeeded`` is called. ``device``:
        the id of this browser's known-device cookie, if it names this email."""
        # Lower-cased as accounts are looked up: every spelling that could match one is one key.
        key = self._keys.login_key(email.lower())
        limit: Limit = "account"
        per_key = self._per_account
        if device is not None:
            # NUL never comes from a form (web.pages.checked_form refuses it), so no typed
            # email has this key.
            key = self._keys.login_key(f"\0{device}\0{key}")
            limit, per_key = "device", self._per_device
        return self._begin(key, limit, per_key, ip, now)

    def begin_second_factor(self, account_id: str, ip: str | None, now: int) -> int | Throttled:
        """Like ``begin``, for a one-time or recovery code after a right password: counted per
        account under the per-email limit, and per network with every login."""
        # NUL never comes from a form: no typed email has this key.
        key = self._keys.login_key(f"\0second-factor\0{account_id}")
        return self._begin(key, "account", self._per_account, ip, now)

    def begin_passkey(self, subject: str, ip: str | None, now: int) -> int | Throttled:
        """Like ``begin``, for a passkey sign-in: counted per ``subject`` (the account the
        passkey is of, or the unknown credential it names) under the per-email limit, and per
        network with every login."""
        key = self._keys.login_key(f"\0passkey\0{subject}")
        return self._begin(key, "account", self._per_account, ip, now)

    def _begin(
        self, key: str, limit: Limit, per_key: int, ip: str | None, now: int
    ) -> int | Throttled:
        attempt = Attempt(at=now, kind="login", account_key=key, network=network_of(ip))
        attempt_id, recent = self._store.begin_attempt(
            attempt, since=now - self._window, account_limit=per_key + 1,
            network_limit=self._per_network + 1,
        )
        # Over a limit with this attempt: it is not checked, and not kept, so hammering a
        # throttled email does not stretch its cool-down.
        reached: list[Throttled] = []
        if len(recent.account) > per_key:
            reached.append(_until(limit, recent.account[per_key], self._window, now))
        if len(recent.network) > self._per_network:
            reached.append(
                _until("network", recent.network[self._per_network], self._window, now)
            )
        if not reached:
            return attempt_id
        self._store.end_attempt(attempt_id)
        return max(reached, key=lambda throttled: throttled.retry_after)

    def succeeded(self, attempt_id: int) -> None:
        self._store.end_attempt(attempt_id)

    def warn_untrusted_proxy(self, ip: str | None) -> None:
        """Once per address: a proxy that is not trusted makes every client behind it share one
        network limit, which one attacker can then fill for all of them."""
        if ip in self._warned or len(self._warned) >= _WARNINGS:
            return
        self._warned.add(ip)
        log.warning(
            "login throttling: %s reached the per-network limit and sends X-Forwarded-For, which"
            " is not believed from it; if it is a reverse proxy, list it in"
            " HOSPIAI_FORWARDED_ALLOW_IPS, or every client behind it shares one limit", ip,
        )


class RegistrationThrottle:
    """Every registration counts, accepted or refused, so that neither a flood of clients nor
    one of invalid bodies costs more than the limit allows; without a client address there is
    no network to count under, as for logins."""

    def __init__(self, settings: Settings, store: AttemptStore) -> None:
        self._store = store
        self._per_network = settings.registrations_per_network
        self._window = settings.registration_window

    def begin(self, ip: str | None, now: int) -> Throttled | None:
        """None if the registration may go on; otherwise how long to wait."""
        attempt = Attempt(at=now, kind="registration", network=network_of(ip))
        attempt_id, recent = self._store.begin_attempt(
            attempt, since=now - self._window, account_limit=0,
            network_limit=self._per_network + 1,
        )
        if len(recent.network) <= self._per_network:
            return None
        # Refused, and not kept: hammering does not stretch the cool-down.
        self._store.end_attempt(attempt_id)
        return _until("network", recent.network[self._per_network], self._window, now)

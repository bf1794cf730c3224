"""What tests share: real servers on loopback with their own databases, as context managers
(conftest.py only turns them into fixtures; benchmarks use them without pytest)."""


from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from authserver.app import create_app
from authserver.models import Account
from authserver.oauth.egress import Egress
from authserver.provisioning import (
    Credentials,
    add_membership,
    create_account,
    create_client,
    create_resource_server,
)
from authserver.security import Keys, Passwords
from authserver.settings import Settings
from authserver.store import Store
from mcpserver.app import create_app as create_mcp_app
from mcpserver.domain.store import DomainStore
from mcpserver.settings import Settings as McpSettings
from shared.database import create_db_engine
from tests.databases import Databases
from tests.servers import Running, bind_loopback, serve

PASSWORD = "correct-horse-battery"
# Test servers' passwords: argon2id at its lowest cost, 1 ms instead of 75, which the servers
# they serve also run at (so a login does not re-hash it at the production cost).
# test_secrets_at_rest and test_account_import check the production cost.
QUICK = Passwords(time_cost=1, memory_cost=8)
# The processes tests start (hospiai dev, replicas, stdio) speak English too, like the servers
# below: the tests that read French say so (tests/authserver/test_language.py).
os.environ.setdefault("HOSPIAI_DEFAULT_LOCALE", "en")
QUICK_HASH = QUICK.hash

@dataclass
class Clock:
    """Real time plus an offset the test moves by hand, so expiry is tested without sleeping
    while clients that read the real clock (the MCP SDK) still agree with the servers."""

    offset: int = 0
    frozen_at: int | None = None

    def __call__(self) -> int:
        now = int(time.time()) if self.frozen_at is None else self.frozen_at
        return now + self.offset

    def advance(self, seconds: int) -> None:
        self.offset += seconds

    def freeze(self) -> None:
        """Stop real time, for a test that checks a bound from below (a slow machine would
        otherwise carry it over)."""
        self.frozen_at = int(time.time())


@dataclass
class AuthServer:
    url: str
    settings: Settings
    store: Store
    keys: Keys
    clock: Clock
    resource: str
    resource_server: Credentials
    running: Running
    passwords: Passwords
    _emails: list[str] = field(default_factory=list)

    def stop(self) -> None:
        self.running.stop()

    def account(self, role: str = "patient", *, password: str = PASSWORD) -> Account:
        email = f"user{len(self._emails)}-{secrets.token_hex(3)}@hospiai.test"
        self._emails.append(email)
        return create_account(
            self.store, email=email, password=password, given_name="Alice",
            family_name="Martin", phone="+33 1 23 45 67 89", role=role, now=self.clock(),
            hasher=self.passwords.hash,
        )

    def join(self, account: Account, *hospital_ids: str) -> None:
        """Make a staff or admin account a member of hospitals."""
        for hospital_id in hospital_ids:
            add_membership(self.store, account_id=account.id, hospital_id=hospital_id,
                           now=self.clock())

    def client(self, **kwargs: object) -> Credentials:
        kwargs.setdefault("name", "Test Client")
        kwargs.setdefault("redirect_uris", ["http://127.0.0.1:5555/callback"])
        return create_client(self.store, self.keys, now=self.clock(), **kwargs)  # type: ignore[arg-type]

    def add_resource_server(self, resource: str) -> Credentials:
        return create_resource_server(
            self.store, self.keys, resource=resource, name=resource, now=self.clock()
        )

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)


@contextmanager
def start_auth_server(
    databases: Databases, *, scheme: str = "http", host: str = "127.0.0.1",
    egress: Egress | None = None, passwords: Passwords = QUICK, **overrides: object
) -> Iterator[AuthServer]:
    """Serve over plain HTTP on loopback; ``scheme`` and ``host`` only change the configured
    issuer ("localhost": a WebAuthn relying party, which an IP address cannot be)."""
    sock = bind_loopback()
    port = sock.getsockname()[1]
    issuer = f"{scheme}://{host}:{port}"
    resource = str(overrides.pop("resource", "http://127.0.0.1:8000/mcp"))
    values: dict[str, object] = {
        "issuer": issuer,
        "secret_key": secrets.token_urlsafe(32),
        "default_resource": resource,
        # No role needs a second factor unless a test says so (tests/authserver/
        # test_second_factor_policy.py): the staff and admins of other tests log in with a
        # password, as they did before the policy.
        "mfa_roles": frozenset(),
        # English pages unless a test says otherwise (tests/authserver/test_language.py): the
        # other tests read English text, as they did before French became the default.
        "default_locale": "en",
        # No RFC 9470 step-up either unless a test says so (start_stack's step_up_max_age).
        "step_up_max_age": 0,
        **overrides,
    }
    if "database_url" not in values:
        values["database_url"] = databases.url("auth", "authserver")
    settings = Settings(**values)  # type: ignore[arg-type]
    clock = Clock()
    store = Store(create_db_engine(settings.database_url))
    if "database_url" in overrides:
        store.upgrade_schema()  # a database the test made itself
    keys = Keys(settings.secret_key)
    resource_server = create_resource_server(
        store, keys, resource=resource, name="MCP", now=clock()
    )
    try:
        app = create_app(settings, clock=clock, egress=egress or Egress(), passwords=passwords)
        with serve(app, sock) as running:
            yield AuthServer(
                f"http://127.0.0.1:{port}", settings, store, keys, clock, resource,
                resource_server, running, passwords,
            )
    finally:
        store.dispose()


@dataclass
class Stack:
    auth: AuthServer
    mcp_url: str
    mcp_settings: McpSettings
    domain: DomainStore


def mcp_settings(
    auth: AuthServer, databases: Databases, *, cache_ttl: int = 30,
    browser_origins: tuple[str, ...] = (), demo: bool = False, step_up_max_age: int = 0,
) -> McpSettings:
    """The MCP server for the authorization server's resource, with its credentials there;
    ``demo``: its database holds the demo directory. ``step_up_max_age``: the MCP server's
    HOSPIAI_MCP_STEP_UP_MAX_AGE, off unless a test says so (tests/mcpserver/
    test_user_authentication.py, tests/e2e/test_step_up.py): the staff of other tests change
    hospital data with a password-only token, as they did before the rule."""
    return McpSettings(
        resource=auth.resource,
        issuer=auth.settings.issuer,
        client_id=auth.resource_server.id,
        client_secret=auth.resource_server.secret or "",
        database_url=databases.url("mcp", "mcpserver+demo" if demo else "mcpserver"),
        cache_ttl=cache_ttl,
        browser_origins=browser_origins,
        default_locale="en",  # as the authorization server's, above
        step_up_max_age=step_up_max_age,
    )


@contextmanager
def start_stack(
    databases: Databases, *, cache_ttl: int = 30, browser_origins: tuple[str, ...] = (),
    step_up_max_age: int = 0, auth_step_up_max_age: int | None = None, **auth_overrides: Any
) -> Iterator[Stack]:
    """``step_up_max_age``: see mcp_settings; the authorization server's
    HOSPIAI_STEP_UP_MAX_AGE too, unless ``auth_step_up_max_age`` says otherwise."""
    sock = bind_loopback()
    mcp_url = f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
    auth_overrides["step_up_max_age"] = (
        step_up_max_age if auth_step_up_max_age is None else auth_step_up_max_age
    )
    with start_auth_server(databases, resource=mcp_url, **auth_overrides) as auth:
        settings = mcp_settings(
            auth, databases, cache_ttl=cache_ttl, browser_origins=browser_origins, demo=True,
            step_up_max_age=step_up_max_age,
        )
        domain = DomainStore(create_db_engine(settings.database_url))
        try:
            with serve(create_mcp_app(settings, clock=auth.clock), sock):
                yield Stack(auth, mcp_url, settings, domain)
        finally:
            domain.dispose()

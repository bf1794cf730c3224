"""Creating accounts, pre-registered clients and resource servers, and the hospitals staff
belong to (CLI, admin, dev seeding)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from authserver.messages import N_, _
from authserver.models import ROLES, Account, Client, Membership, ResourceServer
from authserver.oauth.clients import GRANT_TYPES, redirect_uri_problem
from authserver.oauth.service import GRANT_TYPE as SERVICE_GRANT
from authserver.oauth.service import SERVICE_KIND, SERVICE_SCOPES
from authserver.security import PASSWORDS, Keys, new_id, new_secret
from authserver.store import Store
from shared import scopes
from shared.i18n import MarkedError

MIN_PASSWORD_LENGTH = 12
# A hospital id of the MCP server's directory ("paris-1"): the authorization server does not
# hold the directory, so it checks only the shape, and the MCP server compares ids exactly.
HOSPITAL_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
# Roles whose memberships mean something: patients belong to no hospital.
MEMBER_ROLES = ("staff", "admin")


class ProvisioningError(MarkedError, ValueError):
    """Input that cannot be provisioned; the message says why: in English as ``str()`` (the
    CLI), in the admin's language on a page (``sentence``). A ValueError too: an import
    refuses the row that raises one (authserver.imports)."""

    def sentence(self) -> str:
        """The message translated (when it is in the catalogue), as a sentence."""
        text = self.reason(_)
        return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class Credentials:
    """An identifier and its secret, shown once and stored only as a hash."""

    id: str
    secret: str | None


def create_account(
    store: Store,
    *,
    email: str,
    password: str,
    given_name: str,
    family_name: str,
    now: int,
    phone: str | None = None,
    role: str = "patient",
    hasher: Callable[[str], str] = PASSWORDS.hash,
) -> Account:
    """``hasher``: argon2id at the production cost; only tests pass a cheaper one."""
    account = new_account(
        email=email, password_hash="", given_name=given_name, family_name=family_name,
        phone=phone, role=role, now=now,
    )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ProvisioningError(N_("the password must have at least %(length)s characters"),
                                length=MIN_PASSWORD_LENGTH)
    if store.account_by_email(account.email) is not None:
        raise ProvisioningError(N_("an account with email %(email)s already exists"),
                                email=repr(account.email))
    account.password_hash = hasher(password)
    store.add_account(account)
    return account


def new_account(
    *,
    email: str,
    password_hash: str,
    given_name: str,
    family_name: str,
    now: int,
    phone: str | None,
    role: str,
) -> Account:
    """An account row, not stored yet, with its email checked and normalised as the login
    page looks it up (``email_key``); the CLI's create and import, and the admin's, share it."""
    email = email.strip()
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise ProvisioningError(N_("%(email)s is not an email address"), email=repr(email))
    if role not in ROLES:
        raise ProvisioningError(N_("role must be one of %(roles)s"), roles=", ".join(ROLES))
    return Account(
        id=new_id("acct"),
        email=email,
        email_key=email.lower(),
        password_hash=password_hash,
        given_name=given_name,
        family_name=family_name,
        phone=phone,
        role=role,
        created_at=now,
    )


def create_client(
    store: Store,
    keys: Keys,
    *,
    name: str,
    redirect_uris: list[str],
    now: int,
    public: bool = False,
    scope: str = "",
) -> Credentials:
    """A pre-registered client; confidential unless ``public``, with refresh tokens."""
    if not redirect_uris:
        raise ProvisioningError("at least one redirect URI is required")
    for uri in redirect_uris:
        problem = redirect_uri_problem(uri)
        if problem is not None:
            raise ProvisioningError(problem)
    unknown = set(scopes.parse(scope)) - set(scopes.NAMES)
    if unknown:
        raise ProvisioningError(f"unknown scopes: {' '.join(sorted(unknown))}")
    secret = None if public else new_secret("cs")
    client = Client(
        client_id=new_id("client"),
        kind="preregistered",
        client_name=name,
        client_secret_hash=keys.hash_secret(secret) if secret else None,
        token_endpoint_auth_method="none" if public else "client_secret_basic",
        redirect_uris=redirect_uris,
        grant_types=GRANT_TYPES,
        response_types=["code"],
        scope=scopes.join(scopes.parse(scope)),
        extra_metadata={},
        created_at=now,
    )
    store.add_client(client)
    return Credentials(client.client_id, secret)


def create_service_client(
    store: Store, keys: Keys, *, name: str, now: int, scope: str = ""
) -> Credentials:
    """A service client (HospiAI's web application): the client credentials grant alone, with
    a secret, and only service scopes (default: all of them)."""
    wanted = scopes.parse(scope) or list(SERVICE_SCOPES)
    unknown = set(wanted) - set(SERVICE_SCOPES)
    if unknown:
        held = " ".join(SERVICE_SCOPES)
        raise ProvisioningError(f"a service client holds only {held}, not {' '.join(unknown)}")
    secret = new_secret("cs")
    client = Client(
        client_id=new_id("service"), kind=SERVICE_KIND, client_name=name,
        client_secret_hash=keys.hash_secret(secret),
        token_endpoint_auth_method="client_secret_basic", redirect_uris=[],
        grant_types=[SERVICE_GRANT], response_types=[], scope=" ".join(wanted),
        extra_metadata={}, created_at=now,
    )
    store.add_client(client)
    return Credentials(client.client_id, secret)


def create_resource_server(
    store: Store, keys: Keys, *, resource: str, name: str, now: int
) -> Credentials:
    """A resource server: tokens for ``resource`` and the credentials to introspect them."""
    if redirect_uri_problem(resource) is not None:
        raise ProvisioningError(N_("the resource must be an https URI, or http on loopback"))
    if store.resource_server_by_resource(resource) is not None:
        raise ProvisioningError(N_("resource %(resource)s is already registered"),
                                resource=repr(resource))
    secret = new_secret("rs")
    server = ResourceServer(
        id=new_id("rs"), resource=resource, name=name, secret_hash=keys.hash_secret(secret),
        created_at=now,
    )
    store.add_resource_server(server)
    return Credentials(server.id, secret)


@dataclass(frozen=True)
class Rotation:
    """A resource server's new secret, shown once, and until when the one it replaced still
    works (None: it stopped at once)."""

    secret: str
    previous_until: int | None


def rotate_resource_server_secret(
    store: Store, keys: Keys, resource_server_id: str, *, grace: int, now: int
) -> Rotation | None:
    """A new secret (the admin console and the CLI); the one it replaces keeps working for
    ``grace`` seconds, so that the resource server can be given the new one without answering
    503 meanwhile (0: it stops at once). None: no such resource server."""
    secret = new_secret("rs")
    until = now + grace if grace else None
    if not store.rotate_resource_server(resource_server_id, keys.hash_secret(secret), until):
        return None
    return Rotation(secret, until)


def add_membership(store: Store, *, account_id: str, hospital_id: str, now: int) -> bool:
    """The staff or admin account ``account_id`` now belongs to ``hospital_id``; False if it
    already did."""
    account = store.account(account_id)
    if account is None:
        raise ProvisioningError(N_("no such account"))
    if account.role not in MEMBER_ROLES:
        raise ProvisioningError(N_("only staff and admin accounts belong to hospitals"))
    hospital_id = hospital_id.strip()
    if HOSPITAL_ID.fullmatch(hospital_id) is None:
        raise ProvisioningError(N_(
            "%(id)s is not a hospital id (lower-case letters, digits and hyphens, such as "
            "paris-1)"
        ), id=repr(hospital_id[:80]))
    return store.add_membership(
        Membership(account_id=account_id, hospital_id=hospital_id, created_at=now)
    )

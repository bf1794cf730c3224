"""Typed authorization-server settings, read from the environment and validated at start-up."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from authserver.models import ROLES
from authserver.oauth.clients import private_use_scheme_problem
from shared.i18n import checked_locale
from shared.settings import (
    SettingsError,
    env_bool,
    env_int,
    env_proxies,
    env_secret,
    env_str,
    is_loopback_host,
    public_base_url,
)

MIN_SECRET_KEY_LENGTH = 32


@dataclass(frozen=True)
class Settings:
    issuer: str
    secret_key: str
    database_url: str = "sqlite:///.data/authserver.sqlite3"
    default_resource: str | None = None
    access_token_ttl: int = 3600
    refresh_token_ttl: int = 30 * 24 * 3600
    code_ttl: int = 60
    refresh_grace_seconds: int = 10
    session_ttl: int = 12 * 3600
    interaction_ttl: int = 600
    registration_enabled: bool = True
    # Client ID Metadata Documents: accepted at all, and from which hosts (empty: any host).
    metadata_documents_enabled: bool = True
    metadata_document_hosts: frozenset[str] = frozenset()
    # Development only (refused unless the issuer is loopback): fetch client metadata documents
    # from private and loopback addresses too.
    metadata_documents_allow_private: bool = False
    # RFC 8252 section 7.1: the private-use redirect schemes of known native MCP clients that a
    # public client may register, besides reverse-domain schemes (com.example.app), which any
    # public client may.
    private_use_schemes: frozenset[str] = frozenset(
        {"cursor", "vscode", "vscode-insiders", "windsurf"}
    )
    # Garbage collection: how often (0: only `hospiai maintenance purge`), how long dead rows
    # are kept, and after how long an unused dynamic or document client with no live grant goes.
    purge_interval: int = 3600
    purge_retention: int = 86400
    unused_client_age: int = 7 * 86400
    audit_retention: int = 365 * 86400
    # Login throttling: after this many failed logins for one email (an account or not) within
    # the window, or from one network (an IPv4 address, an IPv6 /64), the next ones are refused
    # without a password check until the oldest of them is a window old.
    login_failures_per_account: int = 10
    login_failures_per_network: int = 50
    login_failure_window: int = 900
    # A browser where an email logged in before (a signed known-device cookie, kept this long)
    # is not held to that email's limit, which anyone anywhere can fill: its own failures for
    # the email have this limit instead, within the same window. The network limit still holds.
    login_failures_per_device: int = 5
    known_device_ttl: int = 90 * 86400
    # Registration throttling: after this many dynamic client registrations from one network
    # within the window, the next ones are refused (429) until the oldest is a window old.
    registrations_per_network: int = 20
    registration_window: int = 600
    # A dynamic client that has not been used for a code this long after it registered goes
    # (a flood of registrations leaves nothing behind for long).
    unused_registration_age: int = 86400
    host: str = "127.0.0.1"
    port: int = 9000
    # On SIGTERM, how long requests in flight may take to finish before they are cancelled.
    shutdown_timeout: int = 20
    # Reverse proxies whose X-Forwarded-For/-Proto are believed (addresses, networks); none by
    # default, so a caller can never choose the address the audit log and the logs record.
    forwarded_allow_ips: tuple[str, ...] = ()
    # uvicorn's line per request: off by default (it cost 29 % of /introspect, issue 14); the
    # proxy in front can log requests at the edge. HOSPIAI_ACCESS_LOG=true turns it on.
    access_log: bool = False
    # HospiAI's tokens from before HospiAI Connect (README "Moving from HospiAI's current
    # tokens"): the web application's HS256 secret (none: legacy tokens are refused), the
    # claim naming a token's record, and POST /api/mcp/validate: "off", "credentials" (the
    # caller is a resource server), or "bearer" (the token alone, for the default resource),
    # with the date (YYYY-MM-DD) it is to go, announced in its Sunset header.
    legacy_token_secret: str | None = None
    legacy_token_id_claim: str = "jti"
    legacy_validate: str = "off"
    legacy_sunset: datetime.date | None = None
    # The service API (/api/service, README): the client credentials grant for service clients
    # (`hospiai clients create --service`), advertised only when on.
    service_api_enabled: bool = False
    # Where the account page reads the user's health-data access log (the MCP server's
    # /data-access, asked with a one-minute token for HOSPIAI_DEFAULT_RESOURCE); by default
    # that resource's origin. In compose, the MCP server's private address.
    data_access_url: str | None = None
    # Roles whose accounts must have a second factor (HOSPIAI_MFA_ROLES): sent to enrolment
    # after their password, they finish no authorization and open no admin page until then.
    mfa_roles: frozenset[str] = frozenset({"staff", "admin"})
    # RFC 9470 step-up, the authorization server's half (HOSPIAI_STEP_UP_MAX_AGE; 0: off): a
    # request that would give an account a scope changing hospital data (shared.scopes,
    # step_up) is treated as asking for acr_values urn:hospiai:acr:mfa and at most this max_age,
    # whatever the client sent. The MCP server refuses those tools to an older or weaker
    # sign-in (HOSPIAI_MCP_STEP_UP_MAX_AGE, the same default): a client that does not pass the
    # challenge's acr_values and max_age on (most today) would otherwise get a new code for the
    # same old sign-in, refused again, until the user logged out. Keep both settings equal.
    step_up_max_age: int = 900
    # HospiAI's own "forgot your password" page, linked from the login page when set.
    password_reset_url: str | None = None
    # The language of pages for a browser that chose none and accepts neither French nor
    # English (HOSPIAI_DEFAULT_LOCALE): HospiAI's patients mostly read French.
    default_locale: str = "fr"

    def __post_init__(self) -> None:
        # Also for settings built in code (tests, `hospiai dev`); one helper per concern.
        object.__setattr__(self, "issuer", public_base_url("HOSPIAI_ISSUER", self.issuer))
        checked_locale("HOSPIAI_DEFAULT_LOCALE", self.default_locale)
        _check_secret_and_lifetimes(self)
        _check_clients(self)
        if not self.mfa_roles <= set(ROLES):
            raise SettingsError(f"HOSPIAI_MFA_ROLES may name only {', '.join(ROLES)}")
        _check_legacy(self)
        _check_urls(self)

    @property
    def data_access_endpoint(self) -> str | None:
        """The MCP server's /data-access for the default resource; None without one."""
        if self.data_access_url is not None or self.default_resource is None:
            return self.data_access_url
        parts = urlsplit(self.default_resource)
        return f"{parts.scheme}://{parts.netloc}/data-access"

    @property
    def secure_cookies(self) -> bool:
        return self.issuer.startswith("https://")

    @property
    def is_loopback(self) -> bool:
        return is_loopback_host(urlsplit(self.issuer).hostname)

    @classmethod
    def database_url_from_env(cls, env: Mapping[str, str]) -> str:
        return env_secret(env, "HOSPIAI_AUTH_DATABASE_URL", cls.database_url)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        bounded: dict[str, Any] = {
            field: env_int(env, name, getattr(cls, field), minimum=low, maximum=high)
            for field, (name, low, high) in _INTEGERS.items()
        }
        flags: dict[str, Any] = {
            field: env_bool(env, name, getattr(cls, field)) for field, name in _FLAGS.items()
        }
        return cls(
            issuer=env_str(env, "HOSPIAI_ISSUER"),
            secret_key=env_secret(env, "HOSPIAI_SECRET_KEY"),
            database_url=cls.database_url_from_env(env),
            default_resource=env.get("HOSPIAI_DEFAULT_RESOURCE") or None,
            metadata_document_hosts=_names(env, "HOSPIAI_METADATA_DOCUMENT_HOSTS", frozenset()),
            private_use_schemes=_names(env, "HOSPIAI_PRIVATE_USE_SCHEMES", cls.private_use_schemes),
            mfa_roles=_names(env, "HOSPIAI_MFA_ROLES", cls.mfa_roles),
            host=env_str(env, "HOSPIAI_AUTH_HOST", cls.host),
            forwarded_allow_ips=env_proxies(env, "HOSPIAI_FORWARDED_ALLOW_IPS"),
            access_log=env_bool(env, "HOSPIAI_ACCESS_LOG", cls.access_log),
            legacy_token_secret=_legacy_secret(env),
            legacy_token_id_claim=env.get("HOSPIAI_LEGACY_TOKEN_ID_CLAIM", "jti"),
            legacy_validate=env.get("HOSPIAI_LEGACY_VALIDATE", "off"),
            legacy_sunset=_date(env, "HOSPIAI_LEGACY_SUNSET"),
            data_access_url=env.get("HOSPIAI_DATA_ACCESS_URL") or None,
            password_reset_url=env.get("HOSPIAI_PASSWORD_RESET_URL") or None,
            default_locale=env.get("HOSPIAI_DEFAULT_LOCALE") or cls.default_locale,
            **bounded,
            **flags,
        )


LEGACY_VALIDATE_MODES = ("off", "credentials", "bearer")


def _check_secret_and_lifetimes(settings: Settings) -> None:
    if len(settings.secret_key) < MIN_SECRET_KEY_LENGTH:
        raise SettingsError(
            f"HOSPIAI_SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters"
        )
    if not 1 <= settings.code_ttl <= 60:
        raise SettingsError("HOSPIAI_CODE_TTL must be between 1 and 60 seconds")
    if not 0 <= settings.refresh_grace_seconds <= 60:
        raise SettingsError("HOSPIAI_REFRESH_GRACE_SECONDS must be between 0 and 60")


def _check_clients(settings: Settings) -> None:
    if settings.metadata_documents_allow_private and not settings.is_loopback:
        raise SettingsError(
            "HOSPIAI_METADATA_DOCUMENTS_ALLOW_PRIVATE is for development: the issuer must be"
            " loopback"
        )
    for scheme in sorted(settings.private_use_schemes):
        problem = private_use_scheme_problem(scheme)
        if problem is not None:
            raise SettingsError(f"HOSPIAI_PRIVATE_USE_SCHEMES: {problem}")


def _check_urls(settings: Settings) -> None:
    if settings.default_resource is not None:
        parts = urlsplit(settings.default_resource)
        if not parts.scheme or not parts.netloc or parts.fragment:
            raise SettingsError("HOSPIAI_DEFAULT_RESOURCE must be an absolute URI")
    if settings.data_access_url is not None:
        parts = urlsplit(settings.data_access_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment:
            raise SettingsError("HOSPIAI_DATA_ACCESS_URL must be an http(s) URL")
    if settings.password_reset_url is not None:
        _check_reset_url(settings.password_reset_url)


def _check_reset_url(url: str) -> None:
    """A page users are sent to: https, or http on loopback (development)."""
    parts = urlsplit(url)
    secure = parts.scheme == "https" or (
        parts.scheme == "http" and is_loopback_host(parts.hostname)
    )
    if not secure or not parts.hostname or parts.username is not None:
        raise SettingsError(
            "HOSPIAI_PASSWORD_RESET_URL must be an https URL (http only on loopback)"
        )


def _check_legacy(settings: Settings) -> None:
    if settings.legacy_validate not in LEGACY_VALIDATE_MODES:
        raise SettingsError(
            f"HOSPIAI_LEGACY_VALIDATE must be one of {', '.join(LEGACY_VALIDATE_MODES)}"
        )
    if settings.legacy_validate == "bearer" and settings.default_resource is None:
        raise SettingsError(
            "HOSPIAI_LEGACY_VALIDATE=bearer needs HOSPIAI_DEFAULT_RESOURCE: the audience the"
            " tokens it validates must have"
        )
    if not settings.legacy_token_id_claim:
        raise SettingsError("HOSPIAI_LEGACY_TOKEN_ID_CLAIM must name a claim")


def _legacy_secret(env: Mapping[str, str]) -> str | None:
    name = "HOSPIAI_LEGACY_TOKEN_SECRET"
    return env_secret(env, name) if env.get(name) or env.get(f"{name}_FILE") else None


def _date(env: Mapping[str, str], name: str) -> datetime.date | None:
    raw = env.get(name)
    if not raw:
        return None
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a date, YYYY-MM-DD") from None


def _names(env: Mapping[str, str], name: str, default: frozenset[str]) -> frozenset[str]:
    """A comma-separated list, in lower case; set and empty, it is empty."""
    if name not in env:
        return default
    return frozenset(item.strip().lower() for item in env[name].split(",") if item.strip())


_DAY = 86400
# Every integer setting: its variable, and the bounds outside which start-up refuses it.
_INTEGERS: dict[str, tuple[str, int, int]] = {
    "access_token_ttl": ("HOSPIAI_ACCESS_TOKEN_TTL", 1, _DAY),
    "refresh_token_ttl": ("HOSPIAI_REFRESH_TOKEN_TTL", 60, 365 * _DAY),
    "code_ttl": ("HOSPIAI_CODE_TTL", 1, 60),
    "refresh_grace_seconds": ("HOSPIAI_REFRESH_GRACE_SECONDS", 0, 60),
    "session_ttl": ("HOSPIAI_SESSION_TTL", 60, 7 * _DAY),
    "step_up_max_age": ("HOSPIAI_STEP_UP_MAX_AGE", 0, 7 * _DAY),
    "purge_interval": ("HOSPIAI_PURGE_INTERVAL", 0, 7 * _DAY),
    "purge_retention": ("HOSPIAI_PURGE_RETENTION", 60, 365 * _DAY),
    "unused_client_age": ("HOSPIAI_UNUSED_CLIENT_AGE", 3600, 365 * _DAY),
    "audit_retention": ("HOSPIAI_AUDIT_RETENTION", _DAY, 10 * 365 * _DAY),
    "login_failures_per_account": ("HOSPIAI_LOGIN_FAILURES_PER_ACCOUNT", 1, 100),
    "login_failures_per_network": ("HOSPIAI_LOGIN_FAILURES_PER_NETWORK", 1, 10_000),
    "login_failure_window": ("HOSPIAI_LOGIN_FAILURE_WINDOW", 60, _DAY),
    "login_failures_per_device": ("HOSPIAI_LOGIN_FAILURES_PER_DEVICE", 1, 100),
    # Browsers keep a cookie at most 400 days.
    "known_device_ttl": ("HOSPIAI_KNOWN_DEVICE_TTL", _DAY, 400 * _DAY),
    "registrations_per_network": ("HOSPIAI_REGISTRATIONS_PER_NETWORK", 1, 10_000),
    "registration_window": ("HOSPIAI_REGISTRATION_WINDOW", 60, _DAY),
    "unused_registration_age": ("HOSPIAI_UNUSED_REGISTRATION_AGE", 600, 30 * _DAY),
    "port": ("HOSPIAI_AUTH_PORT", 1, 65535),
    "shutdown_timeout": ("HOSPIAI_SHUTDOWN_TIMEOUT", 1, 300),
}
_FLAGS = {
    "registration_enabled": "HOSPIAI_REGISTRATION_ENABLED",
    "metadata_documents_enabled": "HOSPIAI_METADATA_DOCUMENTS_ENABLED",
    "metadata_documents_allow_private": "HOSPIAI_METADATA_DOCUMENTS_ALLOW_PRIVATE",
    "service_api_enabled": "HOSPIAI_SERVICE_API_ENABLED",
}

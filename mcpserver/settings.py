"""Typed MCP server settings, read from the environment and validated at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from shared.i18n import checked_locale
from shared.security_events import PATH as EVENTS_PATH
from shared.settings import (
    SettingsError,
    env_bool,
    env_int,
    env_list,
    env_proxies,
    env_secret,
    env_str,
    is_loopback_host,
    public_base_url,
    public_origin,
)

MCP_PATH = "/mcp"
# The signed-in user's own access log as JSON, for the authorization server's account page
# (mcpserver.tools.data_access.endpoint), behind the same bearer guard as /mcp.
DATA_ACCESS_PATH = "/data-access"


@dataclass(frozen=True)
class Settings:
    # The public MCP URL: the RFC 8707 resource and RFC 9728 `resource`, byte for byte.
    resource: str
    issuer: str
    client_id: str
    client_secret: str
    # Where to introspect; defaults to the issuer's /introspect (override for private networks).
    introspection_url: str = ""
    database_url: str = "sqlite:///.data/mcpserver.sqlite3"
    # How long an introspection result is reused, and so how long a revoked token still works
    # while the revocation feed cannot be reached.
    cache_ttl: int = 30
    # The authorization server's revocation feed (RFC 8936 polling, this server's credentials):
    # where (default: beside introspection), and every how many milliseconds (0: not at all,
    # and a revoked token works until the TTL ends its cached answer).
    security_events_url: str = ""
    security_events_poll_ms: int = 1000
    cache_size: int = 10_000
    host: str = "127.0.0.1"
    port: int = 8000
    # On SIGTERM, how long requests in flight may take to finish before they are cancelled.
    shutdown_timeout: int = 20
    # Reverse proxies whose X-Forwarded-For/-Proto are believed (addresses, networks); none by
    # default, so a caller can never choose the address the audit log and the logs record.
    forwarded_allow_ips: tuple[str, ...] = ()
    # uvicorn's line per request: off by default (it cost 29 % of /introspect, issue 14); the
    # proxy in front can log requests at the edge. HOSPIAI_ACCESS_LOG=true turns it on.
    access_log: bool = False
    # Web pages on other origins that may call /mcp from the browser (MCP Inspector, a web
    # app); none by default, so only this server's own origin passes the DNS-rebinding rule.
    browser_origins: tuple[str, ...] = ()
    # How long the health-data access log keeps an entry (one year), and how often entries
    # past it are deleted (0: never, by this process).
    access_log_retention: int = 365 * 86400
    purge_interval: int = 3600
    # RFC 9470 step-up: the tools that change hospital data need a sign-in with a second
    # factor at most this many seconds old (0: no such rule). On by default, 900 s: a change to
    # beds, ICU or a schedule is then made by someone who proved who they are within the last
    # quarter of an hour (about one sitting at a ward's workstation, which is also about when
    # such a screen locks), not by whoever holds a token from a sign-in hours ago: refreshing a
    # token keeps its auth_time. Shorter would ask nurses for a code several times a shift
    # for one task; longer, the token of an unattended session stays strong for longer.
    step_up_max_age: int = 900
    # The language of refusals for an MCP request whose Accept-Language names neither French
    # nor English, and on stdio (HOSPIAI_DEFAULT_LOCALE, as the authorization server's).
    default_locale: str = "fr"

    def __post_init__(self) -> None:
        object.__setattr__(self, "issuer", public_base_url("HOSPIAI_ISSUER", self.issuer))
        checked_locale("HOSPIAI_DEFAULT_LOCALE", self.default_locale)
        _check_resource(self.resource)
        object.__setattr__(self, "browser_origins", tuple(
            public_origin("HOSPIAI_MCP_BROWSER_ORIGINS", origin) for origin in self.browser_origins
        ))
        if not self.introspection_url:
            object.__setattr__(self, "introspection_url", f"{self.issuer}/introspect")
        _check_introspection_url(self.introspection_url)
        if not self.security_events_url:
            introspection = urlsplit(self.introspection_url)
            object.__setattr__(self, "security_events_url",
                               f"{introspection.scheme}://{introspection.netloc}{EVENTS_PATH}")
        _check_introspection_url(self.security_events_url, "HOSPIAI_SECURITY_EVENTS_URL")
        if self.security_events_poll_ms and not 100 <= self.security_events_poll_ms <= 5000:
            raise SettingsError("HOSPIAI_SECURITY_EVENTS_POLL_MS must be 0 (off) or 100 to 5000")

    @property
    def base_url(self) -> str:
        return self.resource.removesuffix(MCP_PATH)

    @property
    def origin(self) -> str:
        """This server's own origin, as a browser on its public site sends it."""
        return public_origin("HOSPIAI_MCP_URL", self.base_url)

    @property
    def resource_metadata_url(self) -> str:
        """RFC 9728 section 3.1: the well-known path with the resource's path appended."""
        return f"{self.base_url}/.well-known/oauth-protected-resource{MCP_PATH}"

    @classmethod
    def database_url_from_env(cls, env: Mapping[str, str]) -> str:
        return env_secret(env, "HOSPIAI_MCP_DATABASE_URL", cls.database_url)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        return cls(
            resource=env_str(env, "HOSPIAI_MCP_URL"),
            issuer=env_str(env, "HOSPIAI_ISSUER"),
            client_id=env_str(env, "HOSPIAI_MCP_CLIENT_ID"),
            client_secret=env_secret(env, "HOSPIAI_MCP_CLIENT_SECRET"),
            introspection_url=env.get("HOSPIAI_INTROSPECTION_URL", ""),
            database_url=cls.database_url_from_env(env),
            cache_ttl=env_int(env, "HOSPIAI_INTROSPECTION_CACHE_TTL", cls.cache_ttl,
                              minimum=0, maximum=300),
            security_events_url=env.get("HOSPIAI_SECURITY_EVENTS_URL", ""),
            security_events_poll_ms=env_int(
                env, "HOSPIAI_SECURITY_EVENTS_POLL_MS", cls.security_events_poll_ms,
                minimum=0, maximum=5000,
            ),
            host=env_str(env, "HOSPIAI_MCP_HOST", cls.host),
            port=env_int(env, "HOSPIAI_MCP_PORT", cls.port, minimum=1, maximum=65535),
            shutdown_timeout=env_int(
                env, "HOSPIAI_SHUTDOWN_TIMEOUT", cls.shutdown_timeout, minimum=1, maximum=300
            ),
            forwarded_allow_ips=env_proxies(env, "HOSPIAI_FORWARDED_ALLOW_IPS"),
            access_log=env_bool(env, "HOSPIAI_ACCESS_LOG", cls.access_log),
            browser_origins=env_list(env, "HOSPIAI_MCP_BROWSER_ORIGINS"),
            access_log_retention=env_int(
                env, "HOSPIAI_ACCESS_LOG_RETENTION", cls.access_log_retention,
                minimum=86400, maximum=10 * 365 * 86400,
            ),
            purge_interval=env_int(env, "HOSPIAI_MCP_PURGE_INTERVAL", cls.purge_interval,
                                   minimum=0, maximum=86400),
            step_up_max_age=env_int(env, "HOSPIAI_MCP_STEP_UP_MAX_AGE", cls.step_up_max_age,
                                    minimum=0, maximum=7 * 86400),
            default_locale=env.get("HOSPIAI_DEFAULT_LOCALE") or cls.default_locale,
        )


def _check_resource(resource: str) -> None:
    parts = urlsplit(resource)
    base = public_base_url("HOSPIAI_MCP_URL", f"{parts.scheme}://{parts.netloc}")
    if parts.path != MCP_PATH or parts.query or parts.fragment:
        raise SettingsError(f"HOSPIAI_MCP_URL must be {base}{MCP_PATH}, got {resource!r}")


def _check_introspection_url(url: str, name: str = "HOSPIAI_INTROSPECTION_URL") -> None:
    target = urlsplit(url)
    # Plain http only where the traffic cannot leave the host or a private service network
    # (a single-label name such as "authserver" in compose).
    host = target.hostname or ""
    private = is_loopback_host(host) or (bool(host) and "." not in host)
    if target.scheme != "https" and not (target.scheme == "http" and private):
        raise SettingsError(
            f"{name} must use https, or http on loopback or a private service name"
        )

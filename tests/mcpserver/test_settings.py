"""MCP server settings are validated at start-up."""

from __future__ import annotations

import pytest

from mcpserver.settings import Settings
from shared.settings import SettingsError

BASE = {
    "HOSPIAI_MCP_URL": "https://mcp.hospiai.example/mcp",
    "HOSPIAI_ISSUER": "https://auth.hospiai.example",
    "HOSPIAI_MCP_CLIENT_ID": "rs_1",
    "HOSPIAI_MCP_CLIENT_SECRET": "hospiai_rs_x",
}


def test_defaults_and_derived_urls() -> None:
    settings = Settings.from_env(BASE)
    assert settings.introspection_url == "https://auth.hospiai.example/introspect"
    assert settings.resource_metadata_url == (
        "https://mcp.hospiai.example/.well-known/oauth-protected-resource/mcp"
    )
    assert settings.cache_ttl == 30
    assert settings.access_log_retention == 365 * 86400 and settings.purge_interval == 3600
    # RFC 9470 step-up is on unless hospital IT turns it off: a second factor within 15 minutes.
    assert settings.step_up_max_age == 900
    assert Settings.from_env({**BASE, "HOSPIAI_MCP_STEP_UP_MAX_AGE": "0"}).step_up_max_age == 0
    assert settings.security_events_url == "https://auth.hospiai.example/security-events"
    assert settings.security_events_poll_ms == 1000


def test_the_revocation_feed_sits_beside_introspection_unless_told() -> None:
    private = Settings.from_env({**BASE, "HOSPIAI_INTROSPECTION_URL":
                                 "http://authserver:9000/introspect"})
    assert private.security_events_url == "http://authserver:9000/security-events"
    told = Settings.from_env({**BASE, "HOSPIAI_SECURITY_EVENTS_URL":
                              "https://events.hospiai.example/feed",
                              "HOSPIAI_SECURITY_EVENTS_POLL_MS": "0"})
    assert told.security_events_url == "https://events.hospiai.example/feed"
    assert told.security_events_poll_ms == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HOSPIAI_MCP_URL", "http://mcp.hospiai.example/mcp"),
        ("HOSPIAI_MCP_URL", "https://mcp.hospiai.example/api"),
        ("HOSPIAI_MCP_URL", "https://mcp.hospiai.example/mcp/"),
        ("HOSPIAI_ISSUER", "http://auth.hospiai.example"),
        ("HOSPIAI_INTROSPECTION_URL", "http://auth.hospiai.example/introspect"),
        ("HOSPIAI_INTROSPECTION_CACHE_TTL", "3600"),
        ("HOSPIAI_MCP_CLIENT_SECRET", ""),
        ("HOSPIAI_ACCESS_LOG_RETENTION", "3600"),
        ("HOSPIAI_ACCESS_LOG_RETENTION", "one year"),
        ("HOSPIAI_MCP_PURGE_INTERVAL", "-1"),
        ("HOSPIAI_MCP_STEP_UP_MAX_AGE", "-1"),
        ("HOSPIAI_MCP_STEP_UP_MAX_AGE", "15 minutes"),
        ("HOSPIAI_SECURITY_EVENTS_URL", "http://auth.hospiai.example/security-events"),
        ("HOSPIAI_SECURITY_EVENTS_POLL_MS", "50"),
        ("HOSPIAI_SECURITY_EVENTS_POLL_MS", "60000"),
        ("HOSPIAI_SECURITY_EVENTS_POLL_MS", "often"),
    ],
)
def test_bad_values_are_refused(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({**BASE, name: value})


def test_private_service_name_may_use_http_for_introspection() -> None:
    settings = Settings.from_env({**BASE, "HOSPIAI_INTROSPECTION_URL": "http://authserver:9000/introspect"})
    assert settings.introspection_url == "http://authserver:9000/introspect"


def test_browser_origins_are_written_as_browsers_send_them() -> None:
    settings = Settings.from_env({
        **BASE,
        "HOSPIAI_MCP_BROWSER_ORIGINS": "http://LOCALHOST:6274/, https://App.Example:443,,"
                                       " http://[::1]:6274",
    })
    assert settings.browser_origins == (
        "http://localhost:6274", "https://app.example", "http://[::1]:6274"
    )
    assert settings.origin == "https://mcp.hospiai.example"
    assert Settings.from_env(BASE).browser_origins == ()


@pytest.mark.parametrize(
    "value",
    [
        "*",  # every page on the web: the DNS-rebinding rule would mean nothing
        "null",
        "http://app.example",
        "https://app.example/inspector",
        "https://app.example?x=1",
        "https://user@app.example",
        "https://app.example:99999",
        "chrome-extension://abcdef",
    ],
)
def test_a_browser_origin_that_is_not_a_public_web_origin_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="HOSPIAI_MCP_BROWSER_ORIGINS"):
        Settings.from_env({**BASE, "HOSPIAI_MCP_BROWSER_ORIGINS": f"http://localhost:6274,{value}"})

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
    ],
)
def test_bad_values_are_refused(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({**BASE, name: value})


def test_private_service_name_may_use_http_for_introspection() -> None:
    settings = Settings.from_env({**BASE, "HOSPIAI_INTROSPECTION_URL": "http://authserver:9000/introspect"})
    assert settings.introspection_url == "http://authserver:9000/introspect"

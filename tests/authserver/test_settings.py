"""Settings are validated at start-up: https issuer unless loopback, bounded TTLs, real secrets."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from authserver.settings import Settings
from shared.settings import SettingsError

KEY = "k" * 32
BASE = {"HOSPIAI_ISSUER": "https://auth.hospiai.example", "HOSPIAI_SECRET_KEY": KEY}


@pytest.mark.parametrize(
    "issuer",
    [
        "http://auth.hospiai.example",
        "http://10.0.0.5:9000",
        "ftp://auth.hospiai.example",
        "https://auth.hospiai.example/tenant",
        "https://auth.hospiai.example?x=1",
        "auth.hospiai.example",
    ],
)
def test_bad_issuers_are_refused(issuer: str) -> None:
    with pytest.raises(SettingsError, match="HOSPIAI_ISSUER"):
        Settings.from_env({**BASE, "HOSPIAI_ISSUER": issuer})


@pytest.mark.parametrize(
    "issuer", ["http://localhost:9000", "http://127.0.0.1:9000", "http://[::1]:9000"]
)
def test_http_is_accepted_on_loopback(issuer: str) -> None:
    assert Settings.from_env({**BASE, "HOSPIAI_ISSUER": issuer}).issuer == issuer


def test_issuer_trailing_slash_is_normalised() -> None:
    settings = Settings.from_env({**BASE, "HOSPIAI_ISSUER": "https://auth.hospiai.example/"})
    assert settings.issuer == "https://auth.hospiai.example"
    assert settings.secure_cookies


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HOSPIAI_SECRET_KEY", ""),
        ("HOSPIAI_SECRET_KEY", "short"),
        ("HOSPIAI_CODE_TTL", "61"),
        ("HOSPIAI_CODE_TTL", "0"),
        ("HOSPIAI_ACCESS_TOKEN_TTL", "soon"),
        ("HOSPIAI_REFRESH_GRACE_SECONDS", "3600"),
        ("HOSPIAI_REGISTRATION_ENABLED", "maybe"),
        ("HOSPIAI_DEFAULT_RESOURCE", "not a uri"),
        ("HOSPIAI_DATA_ACCESS_URL", "mcpserver:8000/data-access"),
        ("HOSPIAI_DATA_ACCESS_URL", "ftp://mcpserver/data-access"),
        ("HOSPIAI_PASSWORD_RESET_URL", "http://hospiai.example/forgot"),
        ("HOSPIAI_PASSWORD_RESET_URL", "javascript:alert(1)"),
        ("HOSPIAI_PASSWORD_RESET_URL", "/forgot"),
        ("HOSPIAI_LOGIN_FAILURES_PER_ACCOUNT", "0"),
        ("HOSPIAI_LOGIN_FAILURES_PER_ACCOUNT", "101"),
        ("HOSPIAI_LOGIN_FAILURES_PER_NETWORK", "0"),
        ("HOSPIAI_LOGIN_FAILURES_PER_NETWORK", "many"),
        ("HOSPIAI_LOGIN_FAILURE_WINDOW", "59"),
        ("HOSPIAI_LOGIN_FAILURE_WINDOW", "86401"),
        ("HOSPIAI_STEP_UP_MAX_AGE", "-1"),
        ("HOSPIAI_STEP_UP_MAX_AGE", "15 minutes"),
        ("HOSPIAI_STEP_UP_MAX_AGE", str(7 * 86400 + 1)),
    ],
)
def test_bad_values_are_refused_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({**BASE, name: value})


def test_missing_issuer_and_secret_are_refused() -> None:
    with pytest.raises(SettingsError, match="HOSPIAI_ISSUER"):
        Settings.from_env({"HOSPIAI_SECRET_KEY": KEY})
    with pytest.raises(SettingsError, match="HOSPIAI_SECRET_KEY"):
        Settings.from_env({"HOSPIAI_ISSUER": "https://auth.hospiai.example"})


def test_defaults() -> None:
    settings = Settings.from_env(BASE)
    assert (settings.access_token_ttl, settings.refresh_token_ttl) == (3600, 30 * 86400)
    assert settings.code_ttl == 60
    # RFC 9470 step-up for scopes that change hospital data, like the MCP server's default.
    assert settings.step_up_max_age == 900
    assert Settings.from_env({**BASE, "HOSPIAI_STEP_UP_MAX_AGE": "0"}).step_up_max_age == 0


def test_private_metadata_documents_are_for_a_loopback_issuer_only() -> None:
    allow = {"HOSPIAI_METADATA_DOCUMENTS_ALLOW_PRIVATE": "true"}
    with pytest.raises(SettingsError, match="HOSPIAI_METADATA_DOCUMENTS_ALLOW_PRIVATE"):
        Settings.from_env({**BASE, **allow})
    local = Settings.from_env({**BASE, **allow, "HOSPIAI_ISSUER": "http://127.0.0.1:9000"})
    assert local.metadata_documents_allow_private


def test_metadata_document_policy_from_the_environment() -> None:
    assert Settings.from_env(BASE).metadata_documents_enabled
    assert Settings.from_env(BASE).metadata_document_hosts == frozenset()
    settings = Settings.from_env({
        **BASE, "HOSPIAI_METADATA_DOCUMENTS_ENABLED": "false",
        "HOSPIAI_METADATA_DOCUMENT_HOSTS": " Claude.ai, ,assistant.example ",
    })
    assert not settings.metadata_documents_enabled
    assert settings.metadata_document_hosts == {"claude.ai", "assistant.example"}


def test_login_throttling_from_the_environment() -> None:
    defaults = Settings.from_env(BASE)
    assert (defaults.login_failures_per_account, defaults.login_failures_per_network,
            defaults.login_failure_window) == (10, 50, 900)
    settings = Settings.from_env({
        **BASE, "HOSPIAI_LOGIN_FAILURES_PER_ACCOUNT": "5",
        "HOSPIAI_LOGIN_FAILURES_PER_NETWORK": "200", "HOSPIAI_LOGIN_FAILURE_WINDOW": "3600",
    })
    assert (settings.login_failures_per_account, settings.login_failures_per_network,
            settings.login_failure_window) == (5, 200, 3600)


def test_private_use_schemes_from_the_environment() -> None:
    assert Settings.from_env(BASE).private_use_schemes >= {
        "cursor", "vscode", "vscode-insiders", "windsurf"
    }
    name = "HOSPIAI_PRIVATE_USE_SCHEMES"
    assert Settings.from_env({**BASE, name: " Zed, ,cursor "}).private_use_schemes == {
        "zed", "cursor"
    }
    # Set and empty: reverse-domain schemes only.
    assert Settings.from_env({**BASE, name: ""}).private_use_schemes == frozenset()


@pytest.mark.parametrize(
    "value", ["javascript", "cursor,data", "file", "vbscript", "blob", "about", "ws", "wss",
              "https", "http", "my app", "1app", "cursor:"],
)
def test_unsafe_private_use_schemes_are_refused_at_start_up(value: str) -> None:
    with pytest.raises(SettingsError, match="HOSPIAI_PRIVATE_USE_SCHEMES"):
        Settings.from_env({**BASE, "HOSPIAI_PRIVATE_USE_SCHEMES": value})
    with pytest.raises(SettingsError, match="HOSPIAI_PRIVATE_USE_SCHEMES"):
        Settings(issuer=BASE["HOSPIAI_ISSUER"], secret_key=KEY,
                 private_use_schemes=frozenset(value.split(",")))


def test_legacy_tokens_are_off_unless_configured() -> None:
    settings = Settings.from_env(BASE)
    assert settings.legacy_validate == "off" and settings.legacy_token_secret is None


def test_legacy_settings_from_the_environment(tmp_path: Path) -> None:
    secret = tmp_path / "legacy-secret"
    secret.write_text("the-web-applications-secret\n", encoding="utf-8")
    settings = Settings.from_env({
        **BASE, "HOSPIAI_LEGACY_TOKEN_SECRET_FILE": str(secret),
        "HOSPIAI_LEGACY_TOKEN_ID_CLAIM": "tokenId", "HOSPIAI_LEGACY_VALIDATE": "credentials",
        "HOSPIAI_LEGACY_SUNSET": "2027-06-30",
    })
    assert settings.legacy_token_secret == "the-web-applications-secret"
    assert settings.legacy_token_id_claim == "tokenId"
    assert settings.legacy_sunset == datetime.date(2027, 6, 30)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HOSPIAI_LEGACY_VALIDATE": "yes"}, "HOSPIAI_LEGACY_VALIDATE must be one of"),
        ({"HOSPIAI_LEGACY_VALIDATE": "bearer"}, "needs HOSPIAI_DEFAULT_RESOURCE"),
        ({"HOSPIAI_LEGACY_SUNSET": "30/06/2027"}, "HOSPIAI_LEGACY_SUNSET must be a date"),
        ({"HOSPIAI_LEGACY_TOKEN_ID_CLAIM": ""}, "HOSPIAI_LEGACY_TOKEN_ID_CLAIM"),
        (
            {"HOSPIAI_LEGACY_TOKEN_SECRET": "x", "HOSPIAI_LEGACY_TOKEN_SECRET_FILE": "/x"},
            "both set",
        ),
    ],
)
def test_bad_legacy_settings_stop_the_start_up(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({**BASE, **env})


def test_the_access_log_is_read_at_the_default_resources_origin_unless_named() -> None:
    base = {"HOSPIAI_ISSUER": "https://auth.hospiai.fr", "HOSPIAI_SECRET_KEY": "k" * 32}
    assert Settings.from_env(base).data_access_endpoint is None
    derived = Settings.from_env({**base, "HOSPIAI_DEFAULT_RESOURCE": "https://mcp.hospiai.fr/mcp"})
    assert derived.data_access_endpoint == "https://mcp.hospiai.fr/data-access"
    named = Settings.from_env({**base, "HOSPIAI_DEFAULT_RESOURCE": "https://mcp.hospiai.fr/mcp",
                               "HOSPIAI_DATA_ACCESS_URL": "http://mcpserver:8000/data-access"})
    assert named.data_access_endpoint == "http://mcpserver:8000/data-access"


def test_the_password_reset_page_is_optional_and_https() -> None:
    assert Settings.from_env(BASE).password_reset_url is None
    url = "https://www.hospiai.example/mot-de-passe-oublie"
    assert Settings.from_env({**BASE, "HOSPIAI_PASSWORD_RESET_URL": url}).password_reset_url == url

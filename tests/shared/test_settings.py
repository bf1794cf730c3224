"""Settings helpers: secrets from the environment or from a file named by <NAME>_FILE (Docker
secrets), and the reverse proxies whose forwarded headers are trusted."""

from __future__ import annotations

from pathlib import Path

import pytest

from authserver.settings import Settings as AuthSettings
from mcpserver.settings import Settings as McpSettings
from shared.settings import SettingsError, env_proxies, env_secret

SECRET = "s3cret-value-with-enough-characters-0123"
AUTH_BASE = {"HOSPIAI_ISSUER": "https://auth.hospiai.example", "HOSPIAI_SECRET_KEY": SECRET}
MCP_BASE = {
    "HOSPIAI_MCP_URL": "https://mcp.hospiai.example/mcp",
    "HOSPIAI_ISSUER": "https://auth.hospiai.example",
    "HOSPIAI_MCP_CLIENT_ID": "rs_1",
    "HOSPIAI_MCP_CLIENT_SECRET": SECRET,
}
DATABASE_URL = "postgresql+psycopg://hospiai:pa55word@postgres:5432/hospiai"


def _file(tmp_path: Path, content: str) -> str:
    path = tmp_path / "secret"
    path.write_text(content, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("content", [SECRET, f"{SECRET}\n", f"{SECRET}\r\n", f"{SECRET}\n\n"])
def test_a_file_gives_the_value_without_its_trailing_newline(tmp_path: Path, content: str) -> None:
    env = {"X_FILE": _file(tmp_path, content)}
    assert env_secret(env, "X") == SECRET


def test_the_variable_itself_and_the_default_still_work() -> None:
    assert env_secret({"X": SECRET}, "X") == SECRET
    assert env_secret({}, "X", "fallback") == "fallback"
    assert env_secret({"X_FILE": ""}, "X", "fallback") == "fallback"
    with pytest.raises(SettingsError, match=r"^X is required$"):
        env_secret({}, "X")


def test_both_set_is_refused_naming_both(tmp_path: Path) -> None:
    env = {"X": SECRET, "X_FILE": _file(tmp_path, SECRET)}
    with pytest.raises(SettingsError, match="X and X_FILE are both set") as refused:
        env_secret(env, "X")
    assert SECRET not in str(refused.value)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("missing", "cannot read .*/missing: No such file or directory"),
        (".", "cannot read .*: Is a directory"),
        ("empty", ".*/empty is empty"),
    ],
)
def test_an_unusable_file_is_refused_naming_the_variable(
    tmp_path: Path, name: str, reason: str
) -> None:
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(SettingsError, match=f"^X_FILE: {reason}$"):
        env_secret({"X_FILE": str(tmp_path / name)}, "X")


def test_a_file_that_is_not_text_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "binary"
    path.write_bytes(b"\xff\xfe\x00secret")
    with pytest.raises(SettingsError, match=r"^X_FILE: .* is not UTF-8 text$"):
        env_secret({"X_FILE": str(path)}, "X")


@pytest.mark.parametrize(
    ("settings", "base", "name", "attribute", "value"),
    [
        (AuthSettings, AUTH_BASE, "HOSPIAI_SECRET_KEY", "secret_key", SECRET),
        (AuthSettings, AUTH_BASE, "HOSPIAI_AUTH_DATABASE_URL", "database_url", DATABASE_URL),
        (McpSettings, MCP_BASE, "HOSPIAI_MCP_CLIENT_SECRET", "client_secret", SECRET),
        (McpSettings, MCP_BASE, "HOSPIAI_MCP_DATABASE_URL", "database_url", DATABASE_URL),
    ],
)
def test_every_secret_setting_reads_a_file(
    tmp_path: Path,
    settings: type[AuthSettings] | type[McpSettings],
    base: dict[str, str],
    name: str,
    attribute: str,
    value: str,
) -> None:
    env = {key: item for key, item in base.items() if key != name}
    env[f"{name}_FILE"] = _file(tmp_path, f"{value}\n")
    assert getattr(settings.from_env(env), attribute) == value
    with pytest.raises(SettingsError, match=f"{name} and {name}_FILE are both set"):
        settings.from_env({**env, name: value})


def test_trusted_proxies_are_addresses_and_networks_written_back_canonically() -> None:
    env = {"P": " 172.30.53.10 , 10.0.0.0/8,,::1, 2001:DB8::/32 "}
    assert env_proxies(env, "P") == ("172.30.53.10", "10.0.0.0/8", "::1", "2001:db8::/32")
    assert env_proxies({}, "P") == env_proxies({"P": ""}, "P") == ()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("caddy", "'caddy' is not an IP address or network"),
        ("*", "'\\*' would let any caller choose its own address"),
        ("0.0.0.0/0", "'0.0.0.0/0' would let any caller choose its own address"),
        ("::/0", "'::/0' would let any caller choose its own address"),
        ("172.30.53.10/24", "has host bits set"),
        ("10.0.0.0/33", "is not an IP address or network"),
    ],
)
def test_a_proxy_that_is_not_an_address_or_network_is_refused_naming_the_variable(
    value: str, reason: str
) -> None:
    with pytest.raises(SettingsError, match=f"^P: .*{reason}"):
        env_proxies({"P": f"127.0.0.1,{value}"}, "P")


@pytest.mark.parametrize("value", ["caddy", "*", "172.30.53.10/24"])
@pytest.mark.parametrize(("settings", "base"), [(AuthSettings, AUTH_BASE), (McpSettings, MCP_BASE)])
def test_both_services_refuse_a_bad_proxy_list_naming_the_variable(
    settings: type[AuthSettings | McpSettings], base: dict[str, str], value: str
) -> None:
    """What `hospiai` turns into exit status 2 (tests/test_proxy_headers.py, one value per
    service, since each start is a process)."""
    with pytest.raises(SettingsError, match=r"^HOSPIAI_FORWARDED_ALLOW_IPS: "):
        settings.from_env({**base, "HOSPIAI_FORWARDED_ALLOW_IPS": f"127.0.0.2,{value}"})


@pytest.mark.parametrize(("settings", "base"), [(AuthSettings, AUTH_BASE), (McpSettings, MCP_BASE)])
def test_both_services_trust_no_proxy_unless_told(
    settings: type[AuthSettings | McpSettings], base: dict[str, str]
) -> None:
    assert settings.from_env(base).forwarded_allow_ips == ()
    told = settings.from_env({**base, "HOSPIAI_FORWARDED_ALLOW_IPS": "172.30.53.10"})
    assert told.forwarded_allow_ips == ("172.30.53.10",)


@pytest.mark.parametrize(
    ("settings", "base"), [(AuthSettings, AUTH_BASE), (McpSettings, MCP_BASE)]
)
def test_the_request_log_is_off_unless_asked_for(
    settings: type[AuthSettings] | type[McpSettings], base: dict[str, str]
) -> None:
    assert settings.from_env(base).access_log is False
    assert settings.from_env({**base, "HOSPIAI_ACCESS_LOG": "true"}).access_log is True

"""Reading and validating settings from the environment, shared by both services."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the variable."""


def is_loopback_host(host: str | None) -> bool:
    if host is None:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def env_str(env: Mapping[str, str], name: str, default: str | None = None) -> str:
    value = env.get(name, default)
    if value is None or value == "":
        raise SettingsError(f"{name} is required")
    return value


def env_secret(env: Mapping[str, str], name: str, default: str | None = None) -> str:
    """A secret from ``name``, or from the file that ``name_FILE`` points to (the Docker
    secrets convention, which keeps the value out of the environment); never from both.
    Trailing newlines are dropped, as the shell's ``$(cat file)`` drops them."""
    file_name = f"{name}_FILE"
    path = env.get(file_name)
    if not path:
        return env_str(env, name, default)
    if env.get(name):
        raise SettingsError(f"{name} and {file_name} are both set; set only one")
    try:
        value = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as error:
        raise SettingsError(f"{file_name}: cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise SettingsError(f"{file_name}: {path} is not UTF-8 text") from None
    if not value:
        raise SettingsError(f"{file_name}: {path} is empty")
    return value


def env_int(env: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise SettingsError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def env_list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated list; blank items are left out."""
    return tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())


def env_proxies(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Reverse proxies trusted to say who the client is (X-Forwarded-For, X-Forwarded-Proto): a
    comma-separated list of addresses and networks; empty means none. Each is checked here,
    because uvicorn takes a malformed entry as a literal that never matches, silently."""
    proxies: list[str] = []
    for item in env_list(env, name):
        try:
            proxy = (
                None if item == "*"
                else ipaddress.ip_network(item) if "/" in item
                else ipaddress.ip_address(item)
            )
        except ValueError as error:
            raise SettingsError(
                f"{name}: {item!r} is not an IP address or network (such as 172.30.53.10 or"
                f" 172.30.53.0/24): {error}"
            ) from None
        # '*' and a network of every address (0.0.0.0/0, ::/0) trust anyone alike.
        if proxy is None or (isinstance(proxy, ipaddress.IPv4Network | ipaddress.IPv6Network)
            and proxy.prefixlen == 0):
            raise SettingsError(
                f"{name}: {item!r} would let any caller choose its own address; list the"
                " proxies' addresses or networks"
            )
        proxies.append(str(proxy))
    return tuple(proxies)


def public_base_url(name: str, value: str) -> str:
    """Validate a public base URL: https, or http on loopback only; no path, query or fragment."""
    parts = urlsplit(value)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise SettingsError(f"{name} must be an absolute http(s) URL, got {value!r}")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise SettingsError(f"{name} must use https unless its host is loopback, got {value!r}")
    if parts.path not in {"", "/"} or parts.query or parts.fragment:
        raise SettingsError(f"{name} must have no path, query or fragment, got {value!r}")
    return f"{parts.scheme}://{parts.netloc}"


def public_origin(name: str, value: str) -> str:
    """A web origin checked as a public base URL, written as browsers send it in ``Origin``
    (RFC 6454 section 6.2): lower-case scheme and host, no default port, no user info."""
    parts = urlsplit(public_base_url(name, value))
    try:
        port = parts.port
    except ValueError:
        raise SettingsError(f"{name}: {value!r} has an invalid port") from None
    if parts.username is not None or parts.password is not None:
        raise SettingsError(f"{name}: {value!r} must not contain a user name or password")
    host = parts.hostname or ""
    origin = f"{parts.scheme}://[{host}]" if ":" in host else f"{parts.scheme}://{host}"
    default = 443 if parts.scheme == "https" else 80
    return origin if port in (None, default) else f"{origin}:{port}"


def environ() -> Mapping[str, str]:
    """The process environment; the only place settings code reads it."""
    return os.environ

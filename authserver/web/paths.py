"""Local paths: where a page may send the browser next, on this server only."""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urlencode, urlsplit


def local_path(value: str | None, default: str = "/account") -> str:
    """Where to go after logging in: a path on this server only, never another site."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else default


def under(path: str, prefixes: Collection[str]) -> bool:
    """``path`` is one of ``prefixes`` or lies under one ("/token", "/register/abc"; not
    "/tokens"): the protocol's paths, whose answers are OAuth's shape, not pages."""
    return any(path == prefix or path.startswith(prefix + "/") for prefix in prefixes)


def with_next(path: str, next_page: str | None) -> str:
    """``path`` (a page with a form, its POST), then ``next_page``."""
    return f"{path}?{urlencode({'next': local_path(next_page)})}"


def login_url(next_page: str | None) -> str:
    return with_next("/login", next_page)


def second_step_url(next_page: str | None) -> str:
    """The second factor after a right password, then ``next_page``."""
    return with_next("/login/code", next_page)


def enrolment_url(next_page: str | None) -> str:
    """Setting up the second factor an account's role requires, then ``next_page``."""
    return with_next("/account/one-time-codes", next_page)

"""Languages: choosing among French and English from Accept-Language, the default setting of
both services, and dates and numbers as each language writes them."""

from __future__ import annotations

import datetime

import pytest

from authserver.settings import Settings as AuthSettings
from mcpserver.settings import Settings as McpSettings
from shared.clock import PARIS
from shared.i18n import negotiate, show_moment, show_number, speaking
from shared.settings import SettingsError
from tests.authserver.test_settings import BASE as AUTH_ENV
from tests.mcpserver.test_settings import BASE as MCP_ENV


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        ("fr-FR,fr;q=0.9,en;q=0.8", "fr"),
        ("en-GB,en;q=0.9", "en"),
        ("fr-CA", "fr"),
        ("de-DE,en;q=0.5,fr;q=0.7", "fr"),  # by weight, not by position
        ("en;q=0.2, fr;q=0.9", "fr"),
        ("fr;q=0, en", "en"),  # q=0: not French
        ("de, it", "es"),  # neither: the default
        ("", "es"),
        (None, "es"),
        ("fr;q=abc, en", "en"),  # a malformed weight skips its entry
        ("*", "es"),
        ("EN-us", "en"),
    ],
)
def test_negotiation(header: str | None, chosen: str) -> None:
    assert negotiate(header, "es") == chosen


def test_a_huge_header_is_read_only_so_far() -> None:
    assert negotiate("de," * 100_000 + "fr", "en") == "en"


def test_times_and_numbers_as_each_language_writes_them() -> None:
    moment = datetime.datetime(2026, 12, 1, 18, 58, tzinfo=datetime.UTC)  # 19:58 in Paris
    with speaking("fr"):
        assert show_moment(moment) == "1 déc. 2026, 19:58"
        assert show_number(1234567) == "1\u202f234\u202f567"
    with speaking("en"):
        assert show_moment(moment) == "1 Dec 2026, 19:58"
        assert show_number(1234567) == "1,234,567"
    summer = datetime.datetime(2026, 7, 1, 12, 0, tzinfo=PARIS)
    with speaking("fr"):
        assert show_moment(summer) == "1 juil. 2026, 12:00"


def test_the_default_language_is_french_and_checked_at_start_up() -> None:
    assert AuthSettings.from_env(AUTH_ENV).default_locale == "fr"
    assert McpSettings.from_env(MCP_ENV).default_locale == "fr"
    english = {"HOSPIAI_DEFAULT_LOCALE": "en"}
    assert AuthSettings.from_env({**AUTH_ENV, **english}).default_locale == "en"
    assert McpSettings.from_env({**MCP_ENV, **english}).default_locale == "en"
    for value in ("de", "FR", "fr_FR", "english"):
        with pytest.raises(SettingsError, match="HOSPIAI_DEFAULT_LOCALE must be one of fr, en"):
            AuthSettings.from_env({**AUTH_ENV, "HOSPIAI_DEFAULT_LOCALE": value})
        with pytest.raises(SettingsError, match="HOSPIAI_DEFAULT_LOCALE must be one of fr, en"):
            McpSettings.from_env({**MCP_ENV, "HOSPIAI_DEFAULT_LOCALE": value})

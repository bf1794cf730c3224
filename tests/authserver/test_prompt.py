"""The prompt decision, rule by rule (the HTTP behaviour is in test_authorize and
test_consent_memory)."""

from __future__ import annotations

import pytest

from authserver.oauth.prompt import Prompt, decide


def _never() -> bool:
    raise AssertionError("remembered consent was read although an earlier rule decided")


@pytest.mark.parametrize(
    ("raw", "logged_in", "need", "error"),
    [
        ("", False, "login", None),
        ("none", False, "login", "login_required"),
        ("login", True, "login", None),
        ("consent", True, "consent", None),
        ("none consent", True, "consent", "consent_required"),
    ],
)
def test_earlier_rules_decide_without_reading_remembered_consent(
    raw: str, logged_in: bool, need: str, error: str | None
) -> None:
    decision = decide(Prompt.parse(raw), logged_in=logged_in, remembered=_never)
    assert (decision.need, decision.error) == (need, error)


def test_remembered_consent_decides_last() -> None:
    assert decide(Prompt.parse(None), logged_in=True, remembered=lambda: True).need == "none"
    unknown = decide(Prompt.parse("none"), logged_in=True, remembered=lambda: False)
    assert (unknown.need, unknown.error) == ("consent", "consent_required")
    silent = decide(Prompt.parse("none"), logged_in=True, remembered=lambda: True)
    assert (silent.need, silent.error) == ("none", None)


def test_the_pages_get_what_they_must_force() -> None:
    decision = decide(Prompt.parse("login consent"), logged_in=True, remembered=lambda: True)
    assert (decision.force_login, decision.force_consent) == (True, True)
    plain = decide(Prompt.parse(""), logged_in=True, remembered=lambda: True)
    assert (plain.force_login, plain.force_consent) == (False, False)

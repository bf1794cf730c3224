"""The prompt decision, rule by rule (the HTTP behaviour is in test_authorize and
test_consent_memory)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from authserver.oauth.prompt import Decision, Prompt, decide


def _never() -> bool:
    raise AssertionError("remembered consent was read although an earlier rule decided")


def _decide(
    raw: str | None,
    *,
    logged_in: bool = True,
    on_device: bool = False,
    remembered: Callable[[], bool] = _never,
) -> Decision:
    return decide(
        Prompt.parse(raw), logged_in=logged_in, on_device=on_device, remembered=remembered
    )


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
    decision = _decide(raw, logged_in=logged_in)
    assert (decision.need, decision.error) == (need, error)


def test_remembered_consent_decides_last() -> None:
    assert _decide(None, remembered=lambda: True).need == "none"
    unknown = _decide("none", remembered=lambda: False)
    assert (unknown.need, unknown.error) == ("consent", "consent_required")
    silent = _decide("none", remembered=lambda: True)
    assert (silent.need, silent.error) == ("none", None)


def test_the_pages_get_what_they_must_force() -> None:
    decision = _decide("login consent", remembered=lambda: True)
    assert (decision.force_login, decision.force_consent) == (True, True)
    plain = _decide("", remembered=lambda: True)
    assert (plain.force_login, plain.force_consent) == (False, False)


@pytest.mark.parametrize(("raw", "error"), [("", None), ("none", "consent_required")])
def test_a_public_client_answered_on_the_device_always_asks(raw: str, error: str | None) -> None:
    """Issue 13 item 1, RFC 8252 section 8.6: remembered (or admin) consent is never read, and
    the pages are told to ask even once the login shows everything was allowed before."""
    decision = _decide(raw, on_device=True)
    assert (decision.need, decision.error, decision.force_consent) == ("consent", error, True)


def test_a_public_client_answered_on_the_device_still_logs_in_first() -> None:
    decision = _decide("none", logged_in=False, on_device=True)
    assert (decision.need, decision.error) == ("login", "login_required")
    assert decision.force_consent is True

"""The prompt decision, rule by rule (the HTTP behaviour is in test_authorize and
test_consent_memory)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from authserver.oauth.prompt import (
    Authentication,
    Decision,
    InvalidAuthentication,
    Prompt,
    decide,
)
from shared.authentication import ACR_MFA, ACR_PASSWORD

NOW = 1_800_000_000


@dataclass(frozen=True)
class SignIn:
    amr: tuple[str, ...] = ("pwd",)
    auth_time: int = NOW - 60


PASSWORD_ONLY, WITH_CODE = SignIn(), SignIn(("pwd", "otp"))


def _never() -> bool:
    raise AssertionError("remembered consent was read although an earlier rule decided")


def _decide(
    raw: str | None,
    *,
    logged_in: bool = True,
    on_device: bool = False,
    remembered: Callable[[], bool] = _never,
    signed_in: SignIn = PASSWORD_ONLY,
    **params: str,
) -> Decision:
    return decide(
        Prompt.parse(raw), Authentication.parse(params),
        signed_in=signed_in if logged_in else None, now=NOW, on_device=on_device,
        remembered=remembered,
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


@pytest.mark.parametrize("raw", [None, "none"])
def test_max_age_asks_again_for_a_sign_in_older_than_it(raw: str | None) -> None:
    """OpenID Connect Core 3.1.2.1 (RFC 9470 section 4): the sign-in 60 seconds ago counts for
    max_age=60, not for 59; a fresh login is stored for the pages (force_login)."""
    fresh = _decide(raw, max_age="60", remembered=lambda: True)
    assert (fresh.need, fresh.error, fresh.force_login) == ("none", None, False)
    stale = _decide(raw, max_age="59")
    assert (stale.need, stale.force_login) == ("login", True)
    assert stale.error == ("login_required" if raw else None)
    # Nobody logged in: a login follows the request anyway.
    assert _decide(raw, logged_in=False, max_age="0").force_login is False


@pytest.mark.parametrize("raw", [None, "none"])
def test_acr_values_mfa_asks_a_password_only_sign_in_for_its_second_factor(
    raw: str | None
) -> None:
    """RFC 9470 section 4: the pages read the need from the stored request (not force_login:
    a second step keeps the session, a fresh login would not be needed)."""
    stepped = _decide(raw, acr_values=ACR_MFA)
    assert (stepped.need, stepped.force_login) == ("login", False)
    assert stepped.error == ("login_required" if raw else None)
    strong = _decide(raw, acr_values=ACR_MFA, signed_in=WITH_CODE, remembered=lambda: True)
    assert (strong.need, strong.error) == ("none", None)
    # Asking for the password level asks nothing more of any sign-in.
    weak = _decide(raw, acr_values=ACR_PASSWORD, remembered=lambda: True)
    assert (weak.need, weak.error) == ("none", None)


def test_levels_are_ordered_and_empty_parameters_are_absent() -> None:
    assert Authentication.parse({"acr_values": f"{ACR_PASSWORD} {ACR_MFA}"}).mfa is True
    assert Authentication.parse({"acr_values": "", "max_age": ""}) == Authentication()
    assert Authentication.parse({"max_age": "0"}).max_age == 0


@pytest.mark.parametrize("params", [
    {"acr_values": "urn:example:gold"},
    {"acr_values": f"{ACR_MFA} urn:example:gold"},  # every value must be one this server has
    {"acr_values": "mfa"},
    {"max_age": "-1"},
    {"max_age": "1.5"},
    {"max_age": " 60"},
    {"max_age": "sixty"},
    {"max_age": "\u0661"},
    {"max_age": "9" * 19},
])
def test_what_cannot_be_honoured_is_invalid(params: dict[str, str]) -> None:
    with pytest.raises(InvalidAuthentication):
        Authentication.parse(params)


@pytest.mark.parametrize(
    ("scope", "role", "asked", "expected"),
    [
        # A scope that changes hospital data, for a role that may hold it: mfa and max_age.
        ("read:data write:data", "staff", {}, Authentication(mfa=True, max_age=900)),
        ("write:schedule", "admin", {}, Authentication(mfa=True, max_age=900)),
        # The client's own max_age stays when it is stricter, and the server's when it is not.
        ("write:data", "staff", {"max_age": "60"}, Authentication(mfa=True, max_age=60)),
        ("write:data", "staff", {"max_age": "3600"}, Authentication(mfa=True, max_age=900)),
        # A patient never holds write:data: asking for it changes nothing of the sign-in.
        ("read:data write:data", "patient", {}, Authentication()),
        # Reading asks nothing more than the client did.
        ("read:data read:schedule", "staff", {"max_age": "60"}, Authentication(max_age=60)),
    ],
)
def test_the_server_asks_for_step_up_for_scopes_that_change_hospital_data(
    scope: str, role: str, asked: dict[str, str], expected: Authentication
) -> None:
    assert Authentication.parse(asked).for_account(scope, role, 900) == expected


def test_the_server_step_up_rule_can_be_turned_off() -> None:
    assert Authentication.parse({}).for_account("write:data", "staff", 0) == Authentication()


def test_an_old_sign_in_asked_for_write_data_signs_in_again() -> None:
    asked = Authentication.parse({}).for_account("write:data", "staff", 900)
    decision = decide(
        Prompt.parse(None), asked, signed_in=SignIn(("pwd", "otp"), NOW - 901), now=NOW,
        on_device=False, remembered=_never,
    )
    assert (decision.need, decision.force_login) == ("login", True)

"""What an authorization request needs before a code can be issued: nothing, a login, or the
user's consent. One rule per check; `prompt`, `acr_values` and `max_age` are parsed here and
nowhere else."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from shared import scopes
from shared.authentication import ACR_MFA, ACR_VALUES, acr_of

Need = Literal["none", "login", "consent"]

# A whole number of seconds; 18 digits at most, so that no value is too long to read as one.
_SECONDS = re.compile(r"[0-9]{1,18}")


class InvalidAuthentication(ValueError):
    """acr_values or max_age cannot be honoured: invalid_request, with this description."""


@dataclass(frozen=True)
class Prompt:
    """The request's `prompt` values (OpenID Connect Core 1.0 section 3.1.2.1)."""

    values: frozenset[str]

    @classmethod
    def parse(cls, raw: str | None) -> Prompt:
        return cls(frozenset((raw or "").split()))

    @property
    def login(self) -> bool:
        """prompt=login: authenticate again, even with a live session."""
        return "login" in self.values

    @property
    def consent(self) -> bool:
        """prompt=consent: ask, even if everything was allowed before."""
        return "consent" in self.values

    @property
    def none(self) -> bool:
        """prompt=none: show no page at all; an error if one would be needed (3.1.2.6)."""
        return "none" in self.values


@dataclass(frozen=True)
class Authentication:
    """What the request asks of the user's sign-in (RFC 9470 section 4, OpenID Connect Core
    1.0 section 3.1.2.1): a second factor (`acr_values` naming urn:hospiai:acr:mfa), and a
    sign-in at most `max_age` seconds old."""

    mfa: bool = False
    max_age: int | None = None

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> Authentication:
        """Raises InvalidAuthentication. An empty parameter is an absent one (RFC 6749 3.1)."""
        acr_values = (params.get("acr_values") or "").split()
        # RFC 9470 section 4 asks for a level the resource server will check in the token: a
        # level this server does not know would be refused there after the user signed in for
        # nothing, so it is refused here, at once (OpenID Connect treats acr_values as a
        # voluntary preference; a resource server's step-up is not).
        if any(value not in ACR_VALUES for value in acr_values):
            raise InvalidAuthentication(
                f"acr_values may only name {' or '.join(ACR_VALUES)}."
            )
        max_age = params.get("max_age") or ""
        # OpenID Connect Core 1.0 section 3.1.2.1: max_age is a number of seconds.
        if max_age and not _SECONDS.fullmatch(max_age):
            raise InvalidAuthentication("max_age must be a whole number of seconds.")
        # Levels are ordered: naming mfa among others asks for mfa, the stricter reading.
        return cls(mfa=ACR_MFA in acr_values, max_age=int(max_age) if max_age else None)

    def for_account(self, scope: str, role: str, step_up_max_age: int) -> Authentication:
        """The request as this server enforces it for an account with ``role``: a scope that
        changes hospital data (shared.scopes, step_up) asks for mfa and at most
        ``step_up_max_age`` (HOSPIAI_STEP_UP_MAX_AGE; 0: no such rule), the stricter of that
        and what the client asked. The resource server's RFC 9470 challenge asks for the
        same, and a client that does not pass it on must not get a code for the same sign-in
        the challenge refused."""
        if step_up_max_age <= 0 or not scopes.needs_step_up(scopes.parse(scope), role):
            return self
        max_age = step_up_max_age if self.max_age is None else min(self.max_age, step_up_max_age)
        return Authentication(mfa=True, max_age=max_age)

    def too_old(self, signed_in: SignIn, now: int) -> bool:
        """The sign-in is older than max_age allows: the user signs in again."""
        return self.max_age is not None and now - signed_in.auth_time > self.max_age

    def needs_second_factor(self, signed_in: SignIn) -> bool:
        """The request asks for mfa and the sign-in was a password alone: its second step."""
        return self.mfa and acr_of(signed_in.amr) != ACR_MFA


class SignIn(Protocol):
    """How the browser's user signed in (authserver.web.session.LoginSession)."""

    @property
    def amr(self) -> tuple[str, ...]: ...

    @property
    def auth_time(self) -> int: ...


@dataclass(frozen=True)
class Decision:
    need: Need
    reason: str
    # Stored on the interaction row, so that the pages never read `prompt` or `max_age` again:
    # both are about the sign-in as it was when the request arrived. (acr_values is not: the
    # pages read it from the stored request with Authentication.parse.)
    force_login: bool
    force_consent: bool
    # prompt=none and a page is needed: the OpenID Connect Core 3.1.2.6 error to redirect with.
    error: str | None


def decide(
    prompt: Prompt, authentication: Authentication, *, signed_in: SignIn | None, now: int,
    on_device: bool, remembered: Callable[[], bool],
) -> Decision:
    """``authentication``: what the request asks of the sign-in, checked against
    ``signed_in`` (the browser's login session, if any) at ``now``. ``on_device``: the client
    is public and this request's redirect URI goes to an application on the user's device (a
    loopback address or a private-use scheme). ``remembered``: whether this account allowed
    everything asked before (or an admin did); asked only when no earlier rule decides, since
    it reads the store."""
    need, reason = _need(
        prompt, authentication, signed_in=signed_in, now=now, on_device=on_device,
        remembered=remembered,
    )
    error = None
    if prompt.none and need != "none":
        error = "login_required" if need == "login" else "consent_required"
    return Decision(
        need,
        reason,
        force_login=prompt.login or (
            signed_in is not None and authentication.too_old(signed_in, now)
        ),
        # The login page decides again once the user is known: it must not skip the click.
        force_consent=prompt.consent or on_device,
        error=error,
    )


def _need(
    prompt: Prompt, authentication: Authentication, *, signed_in: SignIn | None, now: int,
    on_device: bool, remembered: Callable[[], bool],
) -> tuple[Need, str]:
    # OAuth 2.1 section 4.1.1: the authorization server authenticates the resource owner.
    if signed_in is None:
        return "login", "nobody is logged in in this browser"
    # OpenID Connect Core 1.0 section 3.1.2.1: prompt=login asks for a fresh login.
    if prompt.login:
        return "login", "the client asked for a fresh login (prompt=login)"
    # OpenID Connect Core 1.0 section 3.1.2.1, RFC 9470 section 4: max_age bounds how long ago
    # the user last signed in.
    if authentication.too_old(signed_in, now):
        return "login", "the sign-in is older than the client allows (max_age)"
    # RFC 9470 section 4: acr_values asks for a second factor this sign-in did not give.
    if authentication.needs_second_factor(signed_in):
        return "login", "the client asked for a second factor (acr_values)"
    # OpenID Connect Core 1.0 section 3.1.2.1: prompt=consent asks again.
    if prompt.consent:
        return "consent", "the client asked for consent again (prompt=consent)"
    # RFC 8252 section 8.6: any program on the device can send a native public client's id with
    # its own loopback port or private-use scheme, and no secret tells them apart; only the
    # user, who knows whether they started this, can. Remembered and admin consent do not apply.
    if on_device:
        return "consent", "a public client's answer goes to this device (RFC 8252 8.6)"
    # OAuth 2.1 section 4.1.1 and RFC 9700 section 4.15: the user approves what is new.
    if not remembered():
        return "consent", "this access was not allowed before"
    return "none", "logged in, and everything asked for was allowed before"

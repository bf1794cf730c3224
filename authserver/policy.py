"""Which accounts must sign in with a second factor (HOSPIAI_MFA_ROLES, by default staff and
admins): until they have one (an authenticator app or a passkey), they finish no authorization
and open no admin page, and they can never remove the last one they have."""

from __future__ import annotations

from typing import Protocol

from authserver.models import Account, OneTimeCodeFactor, Passkey
from authserver.settings import Settings


class FactorStore(Protocol):
    def one_time_code_factor(self, account_id: str) -> OneTimeCodeFactor | None: ...
    def passkeys(self, account_id: str) -> list[Passkey]: ...


def _factors(store: FactorStore, account: Account) -> int:
    factor = store.one_time_code_factor(account.id)
    app = factor is not None and factor.confirmed_at is not None
    return int(app) + len(store.passkeys(account.id))


def has_second_factor(store: FactorStore, account: Account) -> bool:
    return _factors(store, account) > 0


def second_factor_required(settings: Settings, account: Account) -> bool:
    return account.role in settings.mfa_roles


def enrolment_required(settings: Settings, store: FactorStore, account: Account) -> bool:
    """The account's role requires a second factor, and it has none yet."""
    return second_factor_required(settings, account) and not has_second_factor(store, account)


def may_remove_factor(settings: Settings, store: FactorStore, account: Account) -> bool:
    """Whether one of the account's factors may go: not its last if its role requires one
    (that would lock it out of everything the role is for)."""
    return not second_factor_required(settings, account) or _factors(store, account) > 1

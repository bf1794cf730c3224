"""Which accounts must sign in with a second factor (HOSPIAI_MFA_ROLES, by default staff and
admins): until they have one, they finish no authorization and open no admin page."""

from __future__ import annotations

from typing import Protocol

from authserver.models import Account, OneTimeCodeFactor
from authserver.settings import Settings


class FactorStore(Protocol):
    def one_time_code_factor(self, account_id: str) -> OneTimeCodeFactor | None: ...


def has_second_factor(store: FactorStore, account: Account) -> bool:
    factor = store.one_time_code_factor(account.id)
    return factor is not None and factor.confirmed_at is not None


def second_factor_required(settings: Settings, account: Account) -> bool:
    return account.role in settings.mfa_roles


def enrolment_required(settings: Settings, store: FactorStore, account: Account) -> bool:
    """The account's role requires a second factor, and it has none yet."""
    return second_factor_required(settings, account) and not has_second_factor(store, account)

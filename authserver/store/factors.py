"""Second factors: an account's authenticator app (TOTP) and its recovery codes. Each use is a
conditional UPDATE whose row count says whether it was the first, on any number of replicas."""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists
from sqlmodel import Session, col, delete, func, select, update

from authserver.models import Account, OneTimeCodeFactor, Passkey, RecoveryCode
from shared.database import SQLStore


def keeping_one(session: Session, account_id: str, *, but_passkey: str | None = None
                ) -> ColumnElement[bool]:
    """The condition for a DELETE of one of the account's factors that must not be its last:
    another one stays (its confirmed authenticator app, or a passkey other than
    ``but_passkey``; None: the app is what goes). The account row is locked first (FOR UPDATE
    on PostgreSQL), so two removals racing on two replicas are decided one after the other,
    the second seeing what the first left; SQLite runs each DELETE, condition included, under
    its one write lock."""
    session.exec(select(Account.id).where(col(Account.id) == account_id).with_for_update())
    other_passkey = select(Passkey.id).where(col(Passkey.account_id) == account_id)
    if but_passkey is None:
        return exists(other_passkey)
    app = select(OneTimeCodeFactor.account_id).where(
        col(OneTimeCodeFactor.account_id) == account_id,
        col(OneTimeCodeFactor.confirmed_at).is_not(None),
    )
    return exists(other_passkey.where(col(Passkey.id) != but_passkey)) | exists(app)


class FactorStore(SQLStore):
    def one_time_code_factor(self, account_id: str) -> OneTimeCodeFactor | None:
        with self._session() as session:
            return session.get(OneTimeCodeFactor, account_id)

    def start_one_time_codes(self, account_id: str, secret_sealed: bytes, now: int) -> bool:
        """A new secret waiting for its first code, replacing one that never got it; False if
        the account already has a confirmed authenticator app (nothing changes)."""
        with self._session() as session:
            session.exec(
                delete(OneTimeCodeFactor).where(
                    col(OneTimeCodeFactor.account_id) == account_id,
                    col(OneTimeCodeFactor.confirmed_at).is_(None),
                )
            )
            session.add(OneTimeCodeFactor(
                account_id=account_id, secret_sealed=secret_sealed, created_at=now
            ))
            return self._commit_new(session)

    def confirm_one_time_codes(
        self, account_id: str, step: int, recovery_hashes: list[str], now: int
    ) -> bool:
        """The first code was right: the app counts from now on, with its step used and the
        recovery codes stored; False if it was confirmed already (another tab or replica)."""
        return self._update_one(
            update(OneTimeCodeFactor)
            .where(
                col(OneTimeCodeFactor.account_id) == account_id,
                col(OneTimeCodeFactor.confirmed_at).is_(None),
            )
            .values(confirmed_at=now, last_step=step),
            add=[
                RecoveryCode(code_hash=code_hash, account_id=account_id, created_at=now)
                for code_hash in recovery_hashes
            ],
        )

    def use_time_step(self, account_id: str, step: int) -> bool:
        """A right code's time step, used now if no code of it or of a later step was: a code
        seen (over a shoulder, by a phishing page) is never good again."""
        return self._update_one(
            update(OneTimeCodeFactor)
            .where(
                col(OneTimeCodeFactor.account_id) == account_id,
                col(OneTimeCodeFactor.confirmed_at).is_not(None),
                col(OneTimeCodeFactor.last_step) < step,
            )
            .values(last_step=step)
        )

    def use_recovery_code(self, account_id: str, code_hash: str, now: int) -> bool:
        return self._update_one(
            update(RecoveryCode)
            .where(
                col(RecoveryCode.code_hash) == code_hash,
                col(RecoveryCode.account_id) == account_id,
                col(RecoveryCode.used_at).is_(None),
            )
            .values(used_at=now)
        )

    def recovery_codes_left(self, account_id: str) -> int:
        with self._session() as session:
            return session.exec(
                select(func.count()).select_from(RecoveryCode).where(
                    col(RecoveryCode.account_id) == account_id,
                    col(RecoveryCode.used_at).is_(None),
                )
            ).one()

    def with_one_time_codes(self, account_ids: list[str]) -> set[str]:
        """Those of the accounts that have a confirmed authenticator app (the console's list)."""
        with self._session() as session:
            return set(session.exec(
                select(OneTimeCodeFactor.account_id).where(
                    col(OneTimeCodeFactor.account_id).in_(account_ids),
                    col(OneTimeCodeFactor.confirmed_at).is_not(None),
                )
            ))

    def remove_one_time_codes(self, account_id: str, *, keep_one: bool = False) -> bool:
        """The authenticator app and its recovery codes go; False if there was none, or if
        ``keep_one`` (the account's role requires a second factor) and it is the last."""
        with self._session() as session:
            condition = [keeping_one(session, account_id)] if keep_one else []
            removed = session.exec(
                delete(OneTimeCodeFactor).where(
                    col(OneTimeCodeFactor.account_id) == account_id, *condition
                )
            ).rowcount
            if removed != 1:
                session.rollback()
                return False
            session.exec(delete(RecoveryCode).where(col(RecoveryCode.account_id) == account_id))
            session.commit()
        return removed == 1

"""Second factors: an account's authenticator app (TOTP) and its recovery codes. Each use is a
conditional UPDATE whose row count says whether it was the first, on any number of replicas."""

from __future__ import annotations

from sqlmodel import col, delete, func, select, update

from authserver.models import OneTimeCodeFactor, RecoveryCode
from shared.database import SQLStore


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

    def remove_one_time_codes(self, account_id: str) -> bool:
        """The authenticator app and its recovery codes go; False if there was none."""
        with self._session() as session:
            removed = session.exec(
                delete(OneTimeCodeFactor).where(col(OneTimeCodeFactor.account_id) == account_id)
            ).rowcount
            session.exec(delete(RecoveryCode).where(col(RecoveryCode.account_id) == account_id))
            session.commit()
        return removed == 1

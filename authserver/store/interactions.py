"""Interactions: the authorization requests waiting for the user, each decided and completed
once."""

from __future__ import annotations

from sqlmodel import col, select, update

from authserver.models import Interaction
from shared.database import SQLStore


class InteractionStore(SQLStore):
    def add_interaction(self, interaction: Interaction) -> None:
        self._add(interaction)

    def open_interaction(self, interaction_id: str, now: int) -> Interaction | None:
        with self._session() as session:
            return session.exec(
                select(Interaction).where(
                    Interaction.id == interaction_id,
                    col(Interaction.completed_at).is_(None),
                    Interaction.expires_at > now,
                )
            ).first()

    def rebind_interaction(
        self, interaction_id: str, old_binding: str, new_binding: str, now: int
    ) -> bool:
        """Move an open interaction from the browser id it was bound to to the one the browser
        got at login; only from that binding, so no other browser's interaction is taken."""
        return self._update_one(
            update(Interaction)
            .where(
                col(Interaction.id) == interaction_id,
                col(Interaction.browser_binding) == old_binding,
                col(Interaction.completed_at).is_(None),
                col(Interaction.expires_at) > now,
            )
            .values(browser_binding=new_binding)
        )

    def decide_interaction(
        self, interaction_id: str, account_id: str, decision: str, now: int,
        amr: str, auth_time: int,
    ) -> bool:
        """Record the user's decision once, with how they signed in; a second submission gets
        False."""
        return self._update_one(
            update(Interaction)
            .where(
                col(Interaction.id) == interaction_id,
                col(Interaction.decision).is_(None),
                col(Interaction.expires_at) > now,
            )
            .values(account_id=account_id, decision=decision, amr=amr, auth_time=auth_time)
        )

    def complete_interaction(self, interaction_id: str, now: int) -> Interaction | None:
        """Take a decided interaction for completion; only the first caller gets it."""
        taken = self._update_one(
            update(Interaction)
            .where(
                col(Interaction.id) == interaction_id,
                col(Interaction.decision).is_not(None),
                col(Interaction.completed_at).is_(None),
                col(Interaction.expires_at) > now,
            )
            .values(completed_at=now)
        )
        if not taken:
            return None
        with self._session() as session:
            return session.get(Interaction, interaction_id)

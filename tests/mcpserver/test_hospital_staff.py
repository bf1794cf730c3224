"""Staff change only the hospitals they belong to (issue 16 item 1), by id guessing too; admins
change every one; patients none."""

from __future__ import annotations

from typing import Any

from tests.databases import both_backends
from tests.harness import Stack
from tests.mcpserver.helpers import call, error_text, token_for

pytestmark = both_backends

STAFF_SCOPE = "read:data write:data"


def _update(stack: Stack, token: str, hospital_id: str, beds: int) -> dict[str, Any]:
    return call(stack, token, "update_hospital_status",
                {"hospital_id": hospital_id, "beds_available": beds})


def test_staff_of_one_hospital_cannot_change_another_by_any_id(stack: Stack) -> None:
    staff, _ = token_for(stack, "staff", STAFF_SCOPE, hospitals=("lyon-1", "lyon-2"))
    before = stack.domain.status("lyon-3")
    assert before is not None
    assert _update(stack, staff, "lyon-2", 11)["structuredContent"]["beds_available"] == 11
    for guessed in ("lyon-3", "paris-1", "LYON-1", "lyon-1 ", "lyon", "atlantis-9", "%", "*"):
        text = error_text(_update(stack, staff, guessed, 999))
        assert text.startswith("You can change only the hospitals you belong to, and "), text
    # The same answer for a hospital that exists and one that does not: ids reveal nothing.
    assert error_text(_update(stack, staff, "lyon-3", 1)).replace("lyon-3", "X") == error_text(
        _update(stack, staff, "atlantis-9", 1)).replace("atlantis-9", "X")
    assert stack.domain.status("lyon-3") == before
    for hospital_id in ("paris-1", "lyon-1"):
        status = stack.domain.status(hospital_id)
        assert status is not None and status.beds_available != 999


def test_staff_with_no_hospital_change_nothing(stack: Stack) -> None:
    staff, _ = token_for(stack, "staff", STAFF_SCOPE)
    assert "you belong to" in error_text(_update(stack, staff, "nice-1", 3))


def test_admins_change_every_hospital(stack: Stack) -> None:
    admin, admin_id = token_for(stack, "admin", STAFF_SCOPE)
    for hospital_id in ("nice-1", "rennes-5"):
        assert _update(stack, admin, hospital_id, 21)["structuredContent"]["beds_available"] == 21
        status = stack.domain.status(hospital_id)
        assert status is not None and status.updated_by == admin_id
    assert "No hospital has the id" in error_text(_update(stack, admin, "atlantis-9", 1))

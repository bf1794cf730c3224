"""RFC 9470 step-up for the tools that change hospital data (issue 15): with
HOSPIAI_MCP_STEP_UP_MAX_AGE on (900 s by default; the harness turns it off), such a call needs
a sign-in with a second factor at most that old. Over HTTP any other token gets 401
insufficient_user_authentication naming the acr_values and max_age to ask for; the tool itself
refuses with words a person can act on (stdio, and clients that show tool errors); reading
tools and patients' own tools never ask."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import httpx
import pytest
from fastmcp import Client

from mcpserver.app import build_mcp, verifier_for
from mcpserver.auth import Identity
from mcpserver.context import Services
from mcpserver.stdio import StdioGuard
from mcpserver.user_authentication import EXPLANATION, strong_enough
from shared.authentication import ACR_MFA, ACR_PASSWORD
from tests.databases import Databases
from tests.harness import Stack, start_stack
from tests.mcpserver.helpers import call, rpc, token_for

STAFF = "read:data write:data read:schedule write:schedule"
MAX_AGE = 600
NOW = 1_800_000_000


def _identity(acr: str | None, auth_time: int | None) -> Identity:
    return Identity(sub="acct_1", client_id="c", scopes=frozenset(), email="", given_name="",
                    family_name="", role="staff", expires_at=NOW + 3600, acr=acr,
                    auth_time=auth_time)


@pytest.mark.parametrize(("acr", "auth_time", "strong"), [
    (ACR_MFA, NOW - 10, True),
    (ACR_MFA, NOW - MAX_AGE, True),
    (ACR_MFA, NOW - MAX_AGE - 1, False),  # too old: sign in again
    (ACR_MFA, NOW + 3600, False),  # from the future: not believed
    (ACR_MFA, None, False),
    (ACR_PASSWORD, NOW, False),
    (None, NOW, False),
])
def test_only_a_recent_second_factor_is_strong_enough(
    acr: str | None, auth_time: int | None, strong: bool
) -> None:
    assert strong_enough(_identity(acr, auth_time), NOW, MAX_AGE) is strong
    assert strong_enough(_identity(acr, auth_time), NOW, 0) is True  # the rule is off


@pytest.fixture
def stepped_up(databases: Databases) -> Iterator[Stack]:
    """A stack whose MCP server requires the step-up, and whose authorization server issues
    tokens for any sign-in (its own rule off, tests/e2e/test_step_up.py has it on): what the
    MCP server does with each kind of token."""
    with start_stack(databases, step_up_max_age=MAX_AGE, auth_step_up_max_age=0) as started:
        yield started


def test_a_password_only_sign_in_gets_the_rfc_9470_challenge(stepped_up: Stack) -> None:
    staff, _ = token_for(stepped_up, "staff", STAFF, hospitals=("lyon-1",))
    before = stepped_up.domain.status("lyon-1")
    for name, arguments in (
        ("update_hospital_status", {"hospital_id": "lyon-1", "beds_available": 3}),
        ("close_slot", {"slot_id": "lyon-1-dr1-x"}),
    ):
        refused = rpc(stepped_up, staff, "tools/call", {"name": name, "arguments": arguments})
        assert refused.status_code == 401, name
        challenge = refused.headers["www-authenticate"]
        assert challenge.startswith('Bearer error="insufficient_user_authentication"')
        assert f'acr_values="{ACR_MFA}"' in challenge and f"max_age={MAX_AGE}" in challenge
        assert f'resource_metadata="{stepped_up.mcp_settings.resource_metadata_url}"' in challenge
        assert refused.json()["error_description"] == EXPLANATION
    assert stepped_up.domain.status("lyon-1") == before  # nothing was changed
    # Reading never asks, for staff or patients; nor do a patient's own tools.
    assert call(stepped_up, staff, "get_hospital_status", {"hospital_id": "lyon-1"}).get(
        "isError") is not True
    patient, _ = token_for(stepped_up)
    assert call(stepped_up, patient, "list_my_appointments", {"which": "all"}).get(
        "isError") is not True


def test_with_the_rule_off_nothing_asks(stack: Stack) -> None:
    staff, _ = token_for(stack, "staff", STAFF, hospitals=("lyon-1",))
    done = call(stack, staff, "update_hospital_status",
                {"hospital_id": "lyon-1", "beds_available": 3})
    assert done.get("isError") is not True, done


def test_the_tool_itself_refuses_in_words_a_person_can_act_on(stepped_up: Stack) -> None:
    """Where no HTTP challenge can be sent (stdio), the tool answers the explanation."""
    staff, _ = token_for(stepped_up, "staff", STAFF, hospitals=("lyon-1",))
    settings = stepped_up.mcp_settings

    async def over_the_wire() -> tuple[bool, str]:
        async with httpx.AsyncClient() as http:
            guard = StdioGuard(verifier_for(settings, http, stepped_up.auth.clock), staff,
                               Services(store=stepped_up.domain, clock=stepped_up.auth.clock))
            tools = build_mcp([guard], step_up_max_age=MAX_AGE, clock=stepped_up.auth.clock)
            guard.tool_scopes = tools.scopes
            async with Client(tools.mcp) as client:
                result = await client.call_tool(
                    "update_hospital_status", {"hospital_id": "lyon-1", "beds_available": 3},
                    raise_on_error=False)
        text = result.content[0].text if result.content else ""
        return result.is_error, text

    is_error, text = anyio.run(over_the_wire)
    assert is_error and text == EXPLANATION

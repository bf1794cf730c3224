"""RFC 9470 step-up end to end with the official MCP SDK client (issue 15): a staff token from a
password-only sign-in gets the insufficient_user_authentication challenge on
update_hospital_status; the SDK treats that 401 like any other (mcp/client/auth/oauth2.py: it
discovers again and sends the user to /authorize with the same parameters, no acr_values nor
max_age, then retries the call once), and once the user signs in with the second factor the
retried call succeeds; reading tools never ask. A client that follows RFC 9470 passes the
challenge's acr_values and max_age on, and then even a browser still signed in (too long ago)
is asked to sign in again before the code is issued."""

from __future__ import annotations

import asyncio
import re

import httpx2

from shared.authentication import ACR_MFA
from tests.databases import Databases, both_backends
from tests.e2e.client import Browser, connect
from tests.flow import enrol_one_time_codes, introspect, logged_in
from tests.harness import PASSWORD, Stack, start_stack
from tests.mcpserver.helpers import rpc

MAX_AGE = 900
UPDATE = {"hospital_id": "lyon-1", "beds_available": 4}


def _with_write_data(scope: str) -> str:
    """The staff member's assistant asks for write:data from the first connection."""
    return " ".join(dict.fromkeys([*scope.split(), "write:data"]))


@both_backends
def test_a_password_only_token_is_challenged_until_the_second_factor(databases: Databases) -> None:
    """The token comes from an authorization server whose own step-up rule is off (or from
    before it was on): with it on, the first connection would already ask for the second
    factor (test_a_client_that_passes_nothing_on_still_gets_a_fresh_sign_in)."""
    with start_stack(databases, step_up_max_age=MAX_AGE, auth_step_up_max_age=0) as stack:
        _challenged_until_the_second_factor(stack)


def _challenged_until_the_second_factor(stack: Stack) -> None:
    auth = stack.auth
    staff = auth.account("staff")
    auth.join(staff, "lyon-1")
    browser = Browser(staff.email, PASSWORD, rewrite_scope=_with_write_data)
    before = stack.domain.status("lyon-1")
    assert before is not None and before.beds_available != UPDATE["beds_available"]

    async def scenario() -> None:
        async with connect(stack.mcp_url, browser) as connection:
            session, storage = connection.session, connection.storage
            assert storage.tokens is not None
            first = storage.tokens.access_token
            assert introspect(auth, first).json()["acr"] == "urn:hospiai:acr:password"
            # Reading never asks.
            read = await session.call_tool("get_hospital_status", {"hospital_id": "lyon-1"})
            assert not read.is_error, read.content
            # The challenge the SDK is about to get, seen on the wire.
            refused = rpc(stack, first, "tools/call",
                          {"name": "update_hospital_status", "arguments": UPDATE})
            assert refused.status_code == 401
            challenge = refused.headers["www-authenticate"]
            assert challenge.startswith('Bearer error="insufficient_user_authentication"')
            assert f'acr_values="{ACR_MFA}"' in challenge and f"max_age={MAX_AGE}" in challenge
            # Meanwhile the staff member set up an authenticator app (on /account): the next
            # sign-in asks for its code.
            with logged_in(auth, staff.email) as other:
                totp, _codes = enrol_one_time_codes(auth, other)
            auth.clock.advance(30)  # the enrolment's code is spent; the app shows the next
            browser.code = lambda: totp.at(auth.clock())
            signed_in_from = auth.clock()
            updated = await session.call_tool("update_hospital_status", UPDATE)
            assert not updated.is_error, updated.content
            assert storage.tokens.access_token != first
            stepped = introspect(auth, storage.tokens.access_token).json()
            assert stepped["acr"] == ACR_MFA and stepped["amr"] == ["pwd", "otp"]
            assert signed_in_from <= stepped["auth_time"] <= auth.clock()
            again = await session.call_tool("get_hospital_status", {"hospital_id": "lyon-1"})
            assert not again.is_error, again.content

    asyncio.run(scenario())
    # One authorization to connect, one after the challenge; none for the reads.
    assert len(browser.authorize_urls) == 2
    status = stack.domain.status("lyon-1")
    assert status is not None and status.beds_available == UPDATE["beds_available"]


class Rfc9470Client:
    """What a client that follows RFC 9470 adds to its next authorization request: the
    acr_values and max_age of the last insufficient_user_authentication challenge it got."""

    def __init__(self) -> None:
        self.asked: dict[str, str] = {}

    async def on_response(self, response: httpx2.Response) -> None:
        challenge = response.headers.get("www-authenticate", "")
        if response.status_code == 401 and "insufficient_user_authentication" in challenge:
            acr = re.search(r'acr_values="([^"]*)"', challenge)
            age = re.search(r"max_age=([0-9]+)", challenge)
            assert acr and age, challenge
            self.asked = {"acr_values": acr.group(1), "max_age": age.group(1)}

    def params(self) -> dict[str, str]:
        return self.asked


@both_backends
def test_a_sign_in_older_than_max_age_signs_in_again_before_the_code(databases: Databases) -> None:
    """A client that follows RFC 9470 passes the challenge's max_age on, and /authorize honours
    it: the authorization server's own rule is off here, so only the client's max_age can ask
    the browser, still signed in with both factors since the first connection, to sign in
    again; without it the code would be issued for that old sign-in at once, and the retried
    call refused again."""
    client = Rfc9470Client()
    with start_stack(databases, step_up_max_age=MAX_AGE, auth_step_up_max_age=0) as stack:
        _an_old_sign_in_signs_in_again(stack, client)
    assert client.asked == {"acr_values": ACR_MFA, "max_age": str(MAX_AGE)}


@both_backends
def test_a_client_that_passes_nothing_on_still_gets_a_fresh_sign_in(databases: Databases) -> None:
    """The official SDK retries with its first authorization's parameters: the authorization
    server's own rule (HOSPIAI_STEP_UP_MAX_AGE on a request for write:data) asks the browser,
    still signed in since too long ago, to sign in again."""
    with start_stack(databases, step_up_max_age=MAX_AGE) as stack:
        browser = _an_old_sign_in_signs_in_again(stack, None)
    assert "max_age" not in browser.authorize_urls[-1]


def _an_old_sign_in_signs_in_again(stack: Stack, client: Rfc9470Client | None) -> Browser:
    """A staff member with an authenticator app connects (both factors), their browser keeps
    its HospiAI session, and a change to hospital data more than MAX_AGE later goes through
    after a fresh sign-in. ``client``: what the assistant passes on from the challenge."""
    auth = stack.auth
    staff = auth.account("staff")
    auth.join(staff, "lyon-1")
    with logged_in(auth, staff.email) as other:
        totp, _codes = enrol_one_time_codes(auth, other)
    auth.clock.advance(30)
    browser = Browser(staff.email, PASSWORD, rewrite_scope=_with_write_data,
                      code=lambda: totp.at(auth.clock()), keep_session=True,
                      extra_params=client.params if client else None)

    async def scenario() -> None:
        async with connect(
            stack.mcp_url, browser, on_response=client.on_response if client else None
        ) as connection:
            storage = connection.storage
            assert storage.tokens is not None
            assert introspect(auth, storage.tokens.access_token).json()["acr"] == ACR_MFA
            auth.clock.advance(MAX_AGE + 1)  # the sign-in is now too old for the write
            signed_in_from = auth.clock()
            updated = await connection.session.call_tool("update_hospital_status", UPDATE)
            assert not updated.is_error, updated.content
            stepped = introspect(auth, storage.tokens.access_token).json()
            assert stepped["acr"] == ACR_MFA and stepped["auth_time"] >= signed_in_from

    asyncio.run(scenario())
    assert len(browser.authorize_urls) == 2
    status = stack.domain.status("lyon-1")
    assert status is not None and status.beds_available == UPDATE["beds_available"]
    return browser

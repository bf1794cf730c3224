"""RFC 9470 step-up for the tools that change hospital data (issue 15): such a call needs a
token from a sign-in with a second factor (`acr` urn:hospiai:acr:mfa) no older than the
setting's age (`auth_time`). Over HTTP the bearer guard answers any other token 401
insufficient_user_authentication with the `acr_values` and `max_age` to ask for; the tool
itself refuses with a message a person can act on, for a transport with no challenge (stdio)
and for clients that show tool errors rather than follow challenges."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection

import mcp_types as mt
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools.base import ToolResult
from starlette.responses import JSONResponse, Response

from mcpserver.auth import IAT_LEEWAY_SECONDS, Identity
from mcpserver.context import current
from mcpserver.messages import N_, _
from mcpserver.refusal import Refusal
from shared.authentication import ACR_MFA

# For a person whose client did not follow the challenge (or cannot: stdio): reconnecting
# alone would bring back the browser's current sign-in, so they log out of it first.
EXPLANATION = N_(
    "This change to hospital data needs a recent sign-in to HospiAI with your second factor "
    "(a one-time code or a passkey). Log out of HospiAI in your browser, reconnect your "
    "assistant's HospiAI connector and sign in with the second factor, then retry."
)


def strong_enough(identity: Identity, now: float, max_age: int) -> bool:
    """Whether the token's sign-in used a second factor within ``max_age`` seconds; always,
    with max_age 0 (step-up off)."""
    if max_age <= 0:
        return True
    auth_time = identity.auth_time
    return (identity.acr == ACR_MFA and auth_time is not None
            and now - max_age <= auth_time <= now + IAT_LEEWAY_SECONDS)


def challenge(max_age: int, metadata_url: str) -> Response:
    """RFC 9470 section 3: what to ask the authorization server for."""
    return JSONResponse(
        {"error": "insufficient_user_authentication", "error_description": EXPLANATION},
        status_code=401,
        headers={"WWW-Authenticate": (
            f'Bearer error="insufficient_user_authentication", '
            f'error_description="A recent sign-in with a second factor is required.", '
            f'acr_values="{ACR_MFA}", max_age={max_age}, '
            f'resource_metadata="{metadata_url}"'
        )},
    )


class StrongAuthentication(Middleware):
    """The tools of ``strong`` run only for a strong enough sign-in (see strong_enough)."""

    def __init__(
        self, strong: Collection[str], max_age: int, clock: Callable[[], float] = time.time
    ) -> None:
        self.strong = strong
        self.max_age = max_age
        self.clock = clock

    async def on_call_tool(
        self,
        context: MiddlewareContext[mt.CallToolRequestParams],
        call_next: CallNext[mt.CallToolRequestParams, ToolResult],
    ) -> ToolResult:
        if context.message.name in self.strong and not strong_enough(
            current().identity, self.clock(), self.max_age
        ):
            raise Refusal(_(EXPLANATION))
        return await call_next(context)

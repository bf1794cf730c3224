"""The account page's view of the health-data access log, which the MCP server keeps (issue 16).

The authorization server asks the MCP server's /data-access as the signed-in user: with a
one-minute access token for the default resource, scope read:profile, issued to the built-in
account-page client and revoked as soon as it is answered. The MCP server checks it by
introspection like any other token (audience, scope, a disabled account, a blocked client) and
answers only that user's entries. So no credential of the MCP server's is kept here, and the
MCP server trusts nothing new: the same design serves HospiAI's web application, with a token
from the service API."""

from __future__ import annotations

import datetime

import httpx
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from authserver.context import Context
from authserver.models import ACCOUNT_PAGE_CLIENT_ID, AccessToken, Grant
from authserver.security import new_id, new_secret, token_sha256

TOKEN_SECONDS = 60
SCOPE = "read:profile"
PAGE_SIZE = 50


class Unavailable(Exception):
    """The log cannot be shown now: no MCP server is configured, or it did not answer well."""


class Entry(BaseModel):
    entry_id: int
    at: str
    who: str
    client_id: str
    tool: str
    ids: list[str]
    outcome: str
    hospital_id: str | None

    @property
    def unix_time(self) -> int:
        return int(datetime.datetime.fromisoformat(self.at).timestamp())


class _Answer(BaseModel):
    entries: list[Entry]


def _issue(context: Context, account_id: str, resource: str) -> tuple[str, str]:
    """A live token of the account's for ``resource``: (its secret, its hash)."""
    now, secret = context.clock(), new_secret("at")
    token_hash = context.keys.hash_secret(secret)
    # No name of its own: its built-in client names it, in the language of whoever reads it.
    grant = Grant(
        id=new_id("grant"), account_id=account_id, client_id=ACCOUNT_PAGE_CLIENT_ID,
        scope=SCOPE, resource=resource, created_at=now,
    )
    context.store.issue_under_live_grant(grant, AccessToken(
        token_hash=token_hash, grant_id=grant.id, client_id=ACCOUNT_PAGE_CLIENT_ID,
        account_id=account_id, scope=SCOPE, resource=resource, issued_at=now,
        expires_at=now + TOKEN_SECONDS,
    ))
    return secret, token_hash


async def read_log(context: Context, account_id: str, before: int | None) -> list[Entry]:
    """A page of the account's access log, newest first (older than entry ``before``)."""
    endpoint, resource = context.settings.data_access_endpoint, context.settings.default_resource
    if endpoint is None or resource is None:
        raise Unavailable("no MCP server is configured (HOSPIAI_DEFAULT_RESOURCE)")
    secret, token_hash = await run_in_threadpool(_issue, context, account_id, resource)
    params = {"limit": str(PAGE_SIZE), **({"before": str(before)} if before is not None else {})}
    try:
        answer = await context.resource_servers.get(
            endpoint, params=params, headers={"Authorization": f"Bearer {secret}"})
    except httpx.HTTPError as error:
        raise Unavailable(f"the MCP server cannot be reached: {type(error).__name__}") from None
    finally:
        await run_in_threadpool(
            context.store.revoke_access_token, token_hash, token_sha256(secret), context.clock()
        )
    if answer.status_code != 200:
        raise Unavailable(f"the MCP server answered {answer.status_code}")
    try:
        return _Answer.model_validate_json(answer.content).entries
    except ValidationError:
        raise Unavailable("the MCP server's answer is not an access log") from None

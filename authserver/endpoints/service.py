"""The service API: HospiAI's web application creates, lists and revokes a named account's
personal access tokens server-side, with a client credentials token (`admin:tokens`) of a
service client, never a user's cookie. Each call is audited with the service as actor."""

from __future__ import annotations

import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from authserver.context import Context, get_context
from authserver.models import PERSONAL_CLIENT_ID, AccessToken, Account, Client, Grant
from authserver.oauth.bridge import read_request
from authserver.oauth.service import SERVICE_KIND, service_audience
from authserver.personal_tokens import LIMITS, TokenRequest, issue_token, token_problem
from shared.http import NO_STORE

PREFIX = "/api/service"
SCOPE = "admin:tokens"


class _Refused(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.response = JSONResponse(
            {"error": error, "error_description": description}, status, headers=NO_STORE
        )
        if status in {401, 403}:
            challenge = f'Bearer error="{error}"' + (f', scope="{SCOPE}"' if status == 403 else "")
            self.response.headers["WWW-Authenticate"] = challenge


def _service_client(context: Context, authorization: str) -> Client:
    """The service client whose live token this is, if it holds the scope."""
    scheme, _, token = authorization.partition(" ")
    now = context.clock()
    row = context.store.access_token(context.keys.hash_secret(token.strip()))
    if scheme.lower() != "bearer" or row is None or row.revoked_at is not None:
        raise _Refused(401, "invalid_token", "A service token is required.")
    client = context.store.client(row.client_id)
    if (
        row.expires_at <= now
        or row.resource != service_audience(context.settings.issuer)
        or client is None or client.kind != SERVICE_KIND or client.blocked
    ):
        raise _Refused(401, "invalid_token", "A service token is required.")
    if SCOPE not in row.scope.split():
        raise _Refused(403, "insufficient_scope", f"The token needs the {SCOPE} scope.")
    return client


def _account(context: Context, email: object) -> Account:
    account = context.store.account_by_email(email) if isinstance(email, str) else None
    if account is None or account.disabled:
        raise _Refused(404, "unknown_account", "No active account has this email.")
    return account


def _listed(context: Context, account: Account) -> list[dict[str, Any]]:
    return [
        _shown(grant, token)
        for grant, token in context.store.personal_tokens(account.id, context.clock())
    ]


def _shown(grant: Grant, token: AccessToken) -> dict[str, Any]:
    return {
        "id": grant.id, "name": grant.name, "scopes": grant.scope.split(),
        "resource": grant.resource, "expiresAt": _time(token.expires_at),
        "lastUsedAt": _time(grant.last_used_at),
    }


def _time(seconds: int | None) -> str | None:
    if seconds is None:
        return None
    moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    return moment.isoformat().replace("+00:00", "Z")


async def tokens(request: Request) -> Response:
    """GET: the account's live tokens (?account=email). POST: create one, shown once."""
    context = get_context(request)
    try:
        client = await run_in_threadpool(
            _service_client, context, request.headers.get("authorization", "")
        )
        if request.method == "GET":
            account = await run_in_threadpool(
                _account, context, request.query_params.get("account")
            )
            listed = await run_in_threadpool(_listed, context, account)
            return JSONResponse({"tokens": listed}, headers=NO_STORE)
        body = (await read_request(request, context.settings.issuer)).json
        return await run_in_threadpool(_create, context, client, body, request)
    except _Refused as refused:
        return refused.response


def _create(context: Context, client: Client, body: object, request: Request) -> Response:
    if not isinstance(body, dict):
        raise _Refused(400, "invalid_request", "The body must be a JSON object.")
    account = _account(context, body.get("account"))
    wanted = _token_request(body, context.settings.default_resource)
    problem = token_problem(wanted, account.role)
    if problem is None and context.store.resource_server_by_resource(wanted.resource) is None:
        problem = "The resource is not a registered resource server."
    if problem is not None:
        raise _Refused(400, "invalid_request", problem % LIMITS)
    secret, grant, token = issue_token(context, account.id, wanted)
    context.audit.record(
        "token.issued", actor=client.client_id, client_id=client.client_id,
        ip=request.client.host if request.client else None, grant_id=grant.id,
        scope=grant.scope, account_id=account.id, by="service",
    )
    return JSONResponse({**_shown(grant, token), "token": secret}, 201, headers=NO_STORE)


def _token_request(body: dict[str, Any], default_resource: str | None) -> TokenRequest:
    """The body's fields, a value of the wrong JSON type read as absent: token_problem then
    names what is missing, as it does for the account page's form."""
    name, wanted_scopes, resource, days = (
        body.get(field) for field in ("name", "scopes", "resource", "days")
    )
    return TokenRequest(
        name=name.strip() if isinstance(name, str) else "",
        scope=_strings(wanted_scopes),
        resource=resource if isinstance(resource, str) else default_resource or "",
        # A JSON number of whole days (not true, which Python counts as 1).
        days=days if isinstance(days, int) and not isinstance(days, bool) else None,
    )


def _strings(value: object) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


async def revoke(request: Request) -> Response:
    """POST {"account": email}: revoke one of that account's tokens, and nobody else's."""
    context = get_context(request)
    try:
        client = await run_in_threadpool(
            _service_client, context, request.headers.get("authorization", "")
        )
        body = (await read_request(request, context.settings.issuer)).json
        account = await run_in_threadpool(
            _account, context, body.get("account") if isinstance(body, dict) else None
        )
    except _Refused as refused:
        return refused.response
    grant_id = request.path_params["grant_id"]
    grant = await run_in_threadpool(context.store.grant, grant_id)
    # A personal token only: the account's connected apps are the user's to disconnect.
    revoked = grant is not None and grant.client_id == PERSONAL_CLIENT_ID and (
        await run_in_threadpool(
            context.store.revoke_account_grant, account.id, grant_id, context.clock()
        )
    )
    if not revoked:
        return _Refused(404, "not_found", "The account has no such live token.").response
    await run_in_threadpool(
        context.audit.record, "grant.revoked", actor=client.client_id,
        client_id=client.client_id, grant_id=grant_id, account_id=account.id, by="service",
    )
    return JSONResponse({"revoked": True}, headers=NO_STORE)

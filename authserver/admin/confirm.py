"""The second page of a destructive admin action: what will happen, then the button that does
it (a POST to the action itself, admin.access's). Opening it changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from authserver.admin.access import view
from authserver.admin.console import GRACE_PERIODS, revoke_back
from authserver.context import Context
from authserver.messages import _
from authserver.web.labels import client_name
from authserver.web.pages import error_page, render

PREFIX = "/admin/confirm"


@dataclass(frozen=True)
class Confirmation:
    title: str
    consequence: str
    button: str
    action: str  # the admin POST that does it
    back: str  # where Cancel goes
    fields: tuple[tuple[str, str], ...] = ()
    # A rotation's choice of how long the old secret keeps working (seconds; 0 first).
    grace_periods: tuple[int, ...] = ()


def _page(request: Request, confirmation: Confirmation) -> Response:
    return render(request, "admin/confirm.html", confirmation=confirmation)


def _missing(request: Request) -> Response:
    return error_page(request, _("Not found"), _("It no longer exists."), 404)


async def _client_action(
    request: Request, context: Context, action: str,
    texts: Callable[[str], tuple[str, str, str]], fields: tuple[tuple[str, str], ...] = (),
) -> Response:
    """``texts``: the title, consequence and button for the client's name."""
    client_id = request.path_params["client_id"]
    found = await run_in_threadpool(context.store.client, client_id)
    if found is None:
        return _missing(request)
    page = f"/admin/clients/{client_id}"
    title, consequence, button = texts(client_name(found))
    return _page(request, Confirmation(
        title, consequence, button, f"{page}/{action}", page, fields,
    ))


@view
async def block_client(request: Request, context: Context) -> Response:
    return await _client_action(request, context, "block", lambda name: (
        _("Block %(name)s?", name=name),
        _("Every user's connection to it stops at once: its authorization requests are "
          "refused and its tokens stop working until you unblock it."),
        _("Block %(name)s", name=name),
    ), (("blocked", "1"),))


@view
async def delete_client(request: Request, context: Context) -> Response:
    return await _client_action(request, context, "delete", lambda name: (
        _("Delete %(name)s?", name=name),
        _("Its registration is removed and every grant and token it holds is revoked, for "
          "every user. This cannot be undone: an assistant that registers itself gets a new "
          "client the next time it connects, and users must allow it again."),
        _("Delete %(name)s", name=name),
    ))


@view
async def rotate_resource_server(request: Request, context: Context) -> Response:
    resource_server_id = request.path_params["resource_server_id"]
    servers = await run_in_threadpool(context.store.resource_servers)
    found = next((rs for rs in servers if rs.id == resource_server_id), None)
    if found is None:
        return _missing(request)
    return _page(request, Confirmation(
        _("Rotate the credentials of %(name)s?", name=found.name),
        _("Without a grace period its current secret stops working at once, so it answers 503 "
          "until it is configured with the new one (tokens already in its cache keep working "
          "for a few seconds). With one, both secrets work until the grace period ends, and "
          "then only the new one; rotating again ends any earlier grace period. The new secret "
          "is shown once, on the next page."),
        _("Rotate credentials %(name)s", name=found.name),
        f"/admin/resource-servers/{resource_server_id}/rotate",
        "/admin", grace_periods=GRACE_PERIODS,
    ))


@view
async def revoke_grant(request: Request, context: Context) -> Response:
    grant_id = request.path_params["grant_id"]
    back = revoke_back(request)
    found = await run_in_threadpool(context.store.grant, grant_id)
    if found is None:
        return _missing(request)
    client = await run_in_threadpool(context.store.client, found.client_id)
    account = await run_in_threadpool(context.store.account, found.account_id)
    # A personal token by the name its owner gave it, an application by its own.
    name = found.name or (client_name(client) if client else _("this application"))
    who = account.email if account else _("the account")
    return _page(request, Confirmation(
        _("Revoke %(name)s for %(who)s?", name=name, who=who),
        _("Its tokens stop working at once; to connect again, %(who)s must allow it again.",
          who=who),
        _("Revoke"), f"/admin/grants/{grant_id}/revoke?{urlencode({'back': back})}", back,
    ))


@view
async def disable_account(request: Request, context: Context) -> Response:
    account_id = request.path_params["account_id"]
    found = await run_in_threadpool(context.store.account, account_id)
    if found is None:
        return _missing(request)
    return _page(request, Confirmation(
        _("Disable %(email)s?", email=found.email),
        _("The account cannot log in any more and is logged out everywhere, and the tokens "
          "of its assistants and its personal access tokens stop working, until you enable "
          "it again."),
        _("Disable account"), f"/admin/accounts/{account_id}/disabled",
        f"/admin/accounts/{account_id}", (("disabled", "1"),),
    ))

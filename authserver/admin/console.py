"""The admin console's pages of one client or account, and every change an admin makes.

Access, CSRF and the audit of every change are admin.access's."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authserver.admin.access import action, view
from authserver.context import Context
from authserver.messages import _
from authserver.models import PERSONAL_CLIENT_ID, ROLES
from authserver.provisioning import (
    MIN_PASSWORD_LENGTH,
    ProvisioningError,
    create_account,
    create_resource_server,
    rotate_resource_server_secret,
)
from authserver.web.labels import ROLE_NAMES
from authserver.web.pages import error_page, form_field, render, whole_number
from authserver.web.paths import local_path
from shared import scopes

# The grace periods a rotation offers, in seconds (0: the old secret stops at once).
GRACE_PERIODS = (0, 3600, 86400)
# The grants a client's or an account's page shows; the rest are a link to the grants list.
GRANT_PREVIEW = 20


def _client_page(request: Request) -> str:
    return f"/admin/clients/{request.path_params['client_id']}"


def _account_page(request: Request) -> str:
    return f"/admin/accounts/{request.path_params['account_id']}"


# -- pages ------------------------------------------------------------------------------------


@view
async def client(request: Request, context: Context) -> Response:
    store, client_id = context.store, request.path_params["client_id"]
    found = await run_in_threadpool(store.client, client_id)
    if found is None:
        return error_page(request, _("Not found"), _("No such client."), 404)
    return render(
        request,
        "admin/client.html",
        client=found,
        grants=await run_in_threadpool(
            lambda: store.live_grants(client_id=client_id, limit=GRANT_PREVIEW + 1)
        ),
        all_grants=f"/admin/grants?{urlencode({'client_id': client_id})}",
        preview=GRANT_PREVIEW,
        catalogue=scopes.CATALOGUE,
        approved=set(scopes.parse(found.approved_scope)),
    )


@view
async def account(request: Request, context: Context) -> Response:
    store, account_id = context.store, request.path_params["account_id"]
    found = await run_in_threadpool(store.account, account_id)
    if found is None:
        return error_page(request, _("Not found"), _("No such account."), 404)
    return render(
        request,
        "admin/account.html",
        account=found,
        roles=ROLES,
        grants=await run_in_threadpool(
            lambda: store.live_grants(account_id=account_id, limit=GRANT_PREVIEW + 1)
        ),
        all_grants=f"/admin/grants?{urlencode({'account_id': account_id})}",
        preview=GRANT_PREVIEW,
        hospital_ids=await run_in_threadpool(store.hospital_ids, account_id),
        sessions=await run_in_threadpool(store.account_sessions, account_id, context.clock()),
        factor=await run_in_threadpool(store.one_time_code_factor, account_id),
        recovery_codes_left=await run_in_threadpool(store.recovery_codes_left, account_id),
        passkeys=await run_in_threadpool(store.passkeys, account_id),
    )


# -- changes ----------------------------------------------------------------------------------


@action("client_blocked", _client_page)
async def block_client(request: Request, context: Context, form: FormData) -> bool:
    blocked = form_field(form.get("blocked")) == "1"
    return await run_in_threadpool(
        context.store.set_client_blocked, request.path_params["client_id"], blocked,
        context.clock(),
    )


def _built_in(request: Request) -> Response:
    return error_page(
        request,
        _("Built-in client"),
        _("Personal access tokens cannot be deleted or approved; block it to stop them all."),
    )


@action("client_deleted", lambda _request: "/admin")
async def delete_client(request: Request, context: Context, form: FormData) -> bool | Response:
    found = await run_in_threadpool(context.store.client, request.path_params["client_id"])
    if found is None:
        return False
    if found.kind == "personal":
        return _built_in(request)
    await run_in_threadpool(context.store.delete_client, found.client_id, context.clock())
    return True


@action("client_approved", _client_page)
async def approve_client(request: Request, context: Context, form: FormData) -> bool | Response:
    if request.path_params["client_id"] == PERSONAL_CLIENT_ID:
        return _built_in(request)
    wanted = [value for value in form.getlist("scope") if isinstance(value, str)]
    approved = scopes.join(scopes.known(wanted))
    return await run_in_threadpool(
        context.store.approve_client, request.path_params["client_id"], approved
    )


@action("account_created", lambda _request: "/admin/accounts")
async def add_account(request: Request, context: Context, form: FormData) -> bool | Response:
    try:
        created = await run_in_threadpool(
            lambda: create_account(
                context.store,
                email=form_field(form.get("email")) or "",
                password=form_field(form.get("password")) or "",
                given_name=form_field(form.get("given_name")) or "",
                family_name=form_field(form.get("family_name")) or "",
                role=form_field(form.get("role")) or "",
                now=context.clock(),
                hasher=context.passwords.hash,
            )
        )
    except ProvisioningError as error:
        return error_page(request, _("The account was not created"), error.sentence())
    return RedirectResponse(f"/admin/accounts/{created.id}", status_code=303)


@action("account_disabled", _account_page)
async def disable_account(request: Request, context: Context, form: FormData) -> bool:
    disabled = form_field(form.get("disabled")) == "1"
    return await run_in_threadpool(
        context.store.set_account_disabled, request.path_params["account_id"], disabled,
        context.clock(),
    )


@action("account_logged_out_everywhere", _account_page)
async def log_out_everywhere(request: Request, context: Context, form: FormData) -> bool:
    """Every session of the account ends (a stolen laptop, a shared computer)."""
    return await end_sessions(context, request.path_params["account_id"])


async def end_sessions(context: Context, account_id: str) -> bool:
    """End every session of the account; False if there is no such account."""
    if await run_in_threadpool(context.store.account, account_id) is None:
        return False
    await run_in_threadpool(context.store.end_account_sessions, account_id)
    return True


@action("account_password_reset", _account_page)
async def reset_password(request: Request, context: Context, form: FormData) -> bool | Response:
    """A new password, which also ends every session of the account (the store does both at
    once): whoever knew the old one is logged out. The password is never audited."""
    password = form_field(form.get("password")) or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        return error_page(
            request, _("The password was not changed"),
            _("The password must have at least %(length)s characters.",
              length=MIN_PASSWORD_LENGTH),
        )
    password_hash = await run_in_threadpool(context.passwords.hash, password)
    return await run_in_threadpool(
        context.store.set_account_password, request.path_params["account_id"], password_hash
    )


@action("account_role_changed", _account_page)
async def change_role(request: Request, context: Context, form: FormData) -> bool | Response:
    role = form_field(form.get("role")) or ""
    if role not in ROLES:
        return error_page(request, _("Unknown role"), _(
            "Choose one of %(roles)s.", roles=", ".join(_(ROLE_NAMES[role]) for role in ROLES)
        ))
    return await run_in_threadpool(
        context.store.set_account_role, request.path_params["account_id"], role, context.clock()
    )


@action("grant_revoked", lambda request: revoke_back(request))
async def revoke_grant(request: Request, context: Context, form: FormData) -> bool:
    grant = await run_in_threadpool(context.store.grant, request.path_params["grant_id"])
    if grant is None:
        return False
    await run_in_threadpool(context.store.revoke_grant, grant.id, context.clock())
    return True


def revoke_back(request: Request) -> str:
    """Back to the account or client page the revoke button was on."""
    back = local_path(request.query_params.get("back"), "/admin")
    return back if back.startswith("/admin/") else "/admin"


@action("resource_server_created", lambda _request: "/admin")
async def add_resource_server(
    request: Request, context: Context, form: FormData
) -> bool | Response:
    try:
        created = await run_in_threadpool(
            lambda: create_resource_server(
                context.store,
                context.keys,
                resource=form_field(form.get("resource")) or "",
                name=form_field(form.get("name")) or "",
                now=context.clock(),
            )
        )
    except ProvisioningError as error:
        return error_page(
            request, _("The resource server was not created"), error.sentence()
        )
    return render(
        request, "admin/secret.html", status_code=201, id=created.id, secret=created.secret
    )


@action("resource_server_rotated", lambda _request: "/admin")
async def rotate_resource_server(
    request: Request, context: Context, form: FormData
) -> bool | Response:
    """A new secret; the old one keeps working for the grace period chosen on the confirmation
    page (none when the form names none: stricter), so that the resource server can be given
    the new one without answering 503 meanwhile."""
    given = form_field(form.get("grace"))
    grace = 0 if given is None else whole_number(given)
    if grace not in GRACE_PERIODS:
        return error_page(
            request, _("The credentials were not rotated"),
            _("Choose a grace period of none, 1 hour or 24 hours."),
        )
    rotated = await run_in_threadpool(
        lambda: rotate_resource_server_secret(
            context.store, context.keys, request.path_params["resource_server_id"],
            grace=grace, now=context.clock(),
        )
    )
    if rotated is None:
        return False
    return render(
        request,
        "admin/secret.html",
        id=request.path_params["resource_server_id"],
        secret=rotated.secret,
        previous_until=rotated.previous_until,
    )

"""The admin console's memberships: which hospitals a staff account belongs to (issue 16).
Audited as admin.membership_added and admin.membership_removed, with the hospital id."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from authserver.admin.access import action
from authserver.context import Context
from authserver.messages import _
from authserver.provisioning import ProvisioningError, add_membership
from authserver.web.pages import error_page, form_field


def _account_page(request: Request) -> str:
    return f"/admin/accounts/{request.path_params['account_id']}"


@action("membership_added", _account_page)
async def add(request: Request, context: Context, form: FormData) -> bool | Response:
    try:
        await run_in_threadpool(
            lambda: add_membership(
                context.store,
                account_id=request.path_params["account_id"],
                hospital_id=form_field(form.get("hospital_id")) or "",
                now=context.clock(),
            )
        )
    except ProvisioningError as error:
        return error_page(request, _("The membership was not added"), error.sentence())
    return True


@action("membership_removed", _account_page)
async def remove(request: Request, context: Context, form: FormData) -> bool:
    return await run_in_threadpool(
        context.store.remove_membership,
        request.path_params["account_id"],
        form_field(form.get("hospital_id")) or "",
        context.clock(),
    )

"""The admin console's reset of an account's second factors (a lost phone or key): the
authenticator app, its recovery codes and every passkey go, and every session of the account
ends, so whoever holds the lost factor keeps nothing it opened. Audited as admin.factors_reset."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request

from authserver.admin.access import action
from authserver.admin.console import end_sessions
from authserver.context import Context


def _account_page(request: Request) -> str:
    return f"/admin/accounts/{request.path_params['account_id']}"


@action("factors_reset", _account_page)
async def reset(request: Request, context: Context, _form: FormData) -> bool:
    account_id = request.path_params["account_id"]
    if not await end_sessions(context, account_id):
        return False
    await run_in_threadpool(context.store.remove_one_time_codes, account_id)
    await run_in_threadpool(context.store.remove_passkeys, account_id)
    return True

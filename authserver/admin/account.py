"""The user's account: profile, connected apps (disconnect), personal access tokens, where it
is logged in (end a session), and who reached its health data (the MCP server's access log)."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authserver import data_access
from authserver.context import Context, get_context
from authserver.messages import N_, _
from authserver.models import PERSONAL_CLIENT_ID
from authserver.personal_tokens import (
    LIMITS,
    MAX_TOKEN_DAYS,
    TokenRequest,
    issue_token,
    token_problem,
    token_scopes,
)
from authserver.web.labels import ACCESS_OUTCOMES, ACCESS_TOOLS, client_name
from authserver.web.pages import (
    LoginRequired,
    checked_form,
    error_page,
    form_field,
    render,
    whole_number,
)
from authserver.web.session import LoginSession, client_ip, current_session, forget_session
from shared import scopes

log = logging.getLogger(__name__)


async def _session(request: Request) -> tuple[Context, LoginSession | None]:
    context = get_context(request)
    return context, await run_in_threadpool(current_session, context, request)


async def _page(
    request: Request,
    context: Context,
    session: LoginSession,
    *,
    status_code: int = 200,
    error: str | None = None,
    created: str | None = None,
) -> Response:
    store, account, now = context.store, session.account, context.clock()
    grants = await run_in_threadpool(store.live_grants, account_id=account.id)
    apps = [(grant, client) for grant, client, _ in grants if client.kind != "personal"]
    tokens = await run_in_threadpool(store.personal_tokens, account.id, now)
    resources = await run_in_threadpool(store.resource_servers)
    sessions = await run_in_threadpool(store.account_sessions, account.id, now)
    factor = await run_in_threadpool(store.one_time_code_factor, account.id)
    confirmed = factor is not None and factor.confirmed_at is not None
    codes_left = await run_in_threadpool(store.recovery_codes_left, account.id)
    passkeys = await run_in_threadpool(store.passkeys, account.id)
    return render(
        request,
        "account.html",
        status_code=status_code,
        account=account,
        apps=[
            (grant, client, sorted({urlsplit(uri).hostname or "" for uri in client.redirect_uris}))
            for grant, client in apps
        ],
        tokens=tokens,
        scope_names={scope.name: scope.consent_text for scope in scopes.CATALOGUE},
        token_scopes=token_scopes(account.role),
        resources=resources,
        max_days=MAX_TOKEN_DAYS,
        sessions=sessions,
        this_session=session.id,
        one_time_codes=confirmed,
        recovery_codes_left=codes_left,
        passkeys=passkeys,
        error=error,
        created=created,
    )


async def account(request: Request) -> Response:
    context, session = await _session(request)
    if session is None:
        raise LoginRequired(request.url.path)
    return await _page(request, context, session)


async def data_access_page(request: Request) -> Response:
    """Who read or changed the user's health data, with which app, what and when."""
    context, session = await _session(request)
    if session is None:
        raise LoginRequired(request.url.path)
    before = whole_number(request.query_params.get("before"))
    try:
        entries = await data_access.read_log(context, session.account.id, before)
    except data_access.Unavailable as why:
        log.warning("the account page cannot read the access log: %s", why)
        return error_page(
            request, _("Access log unavailable"),
            _("The record of who reached your health data cannot be read right now. Nothing is "
              "lost: try again in a few minutes."), 503)
    clients = await run_in_threadpool(
        context.store.clients_by_id, {entry.client_id for entry in entries}
    )
    # The page shows a client it no longer knows by its id.
    names = {client.client_id: client_name(client) for client in clients}
    older = entries[-1].entry_id if len(entries) == data_access.PAGE_SIZE else None
    return render(request, "data_access.html", entries=entries, apps=names, older=older,
                  tools=ACCESS_TOOLS, outcomes=ACCESS_OUTCOMES)


async def _posted(request: Request) -> tuple[Context, LoginSession, FormData]:
    """A form posted from the account page: logged in, and with this browser's CSRF token."""
    context, session = await _session(request)
    if session is None:
        raise LoginRequired("/account")
    form = await checked_form(request)
    return context, session, form


async def _audit(
    request: Request, context: Context, session: LoginSession, event: str,
    client_id: str | None = None, **detail: str,
) -> None:
    """An audit event of the account's own doing, from this browser."""
    await run_in_threadpool(
        lambda: context.audit.record(
            event, actor=session.account.id, client_id=client_id, ip=client_ip(request),
            **detail,
        )
    )


async def revoke(request: Request) -> Response:
    """Disconnect an app or revoke a personal token: the grant, and every token under it."""
    context, session, _form = await _posted(request)
    revoked = await run_in_threadpool(
        context.store.revoke_account_grant,
        session.account.id,
        request.path_params["grant_id"],
        context.clock(),
    )
    if not revoked:
        return error_page(request, _("Nothing to revoke"), _("It was already revoked."), 404)
    await _audit(
        request, context, session, "grant.revoked", grant_id=request.path_params["grant_id"],
        by="account",
    )
    return RedirectResponse("/account", status_code=303)


async def end_session(request: Request) -> Response:
    """End one of the account's sessions: that browser is logged out at its next request.
    Ending this one is logging out here."""
    context, session, _form = await _posted(request)
    session_id = request.path_params["session_id"]
    ended = await run_in_threadpool(
        context.store.end_account_session, session.account.id, session_id
    )
    if not ended:
        return error_page(request, _("Nothing to end"), _("That session has already ended."), 404)
    await _audit(request, context, session, "session.ended", session_id=session_id, by="account")
    if session_id != session.id:
        return RedirectResponse("/account#sessions", status_code=303)
    response = RedirectResponse("/login", status_code=303)
    forget_session(context, response)
    return response


async def create_token(request: Request) -> Response:
    """Issue a personal access token; the page that answers is the only place it is shown."""
    context, session, form = await _posted(request)
    wanted = TokenRequest(
        name=(form_field(form.get("name")) or "").strip(),
        scope=[value for value in form.getlist("scope") if isinstance(value, str)],
        resource=form_field(form.get("resource")) or "",
        days=whole_number(form.get("days")),
    )
    problem = token_problem(wanted, session.account.role)
    if problem is None and await run_in_threadpool(
        context.store.resource_server_by_resource, wanted.resource
    ) is None:
        problem = N_("Choose one of the services listed.")
    if problem is not None:
        return await _page(request, context, session, status_code=400, error=_(problem, **LIMITS))
    secret, grant, _token = await run_in_threadpool(
        issue_token, context, session.account.id, wanted)
    await _audit(
        request, context, session, "token.issued", client_id=PERSONAL_CLIENT_ID,
        grant_id=grant.id, scope=grant.scope,
    )
    return await _page(request, context, session, status_code=201, created=secret)

"""The authorization endpoint (OAuth 2.1 section 4.1.1): validate, hand the user to the
interaction pages, and finish when the browser comes back with the user's decision."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authserver.context import get_context
from authserver.models import Interaction
from authserver.oauth.bridge import OAuthResponse, read_request
from authserver.oauth.cimd import MetadataDocumentError, is_metadata_url
from authserver.oauth.consent import allow_remembered, consent_for
from authserver.oauth.server import AuthorizationRejected
from authserver.security import new_id
from authserver.web.pages import error_page
from authserver.web.session import (
    bound_to_browser,
    client_ip,
    current_session,
    ensure_browser_id,
)
from shared import scopes


def _redirect(response: OAuthResponse) -> RedirectResponse:
    assert response.location is not None
    return RedirectResponse(response.location, status_code=303)


async def authorize(request: Request) -> Response:
    context = get_context(request)
    http = await read_request(request, context.settings.issuer)
    client_id = dict(http.query).get("client_id")
    client = None
    if client_id and is_metadata_url(client_id):
        try:
            client = await context.documents.client(client_id, http.client_ip)
        except MetadataDocumentError as problem:
            # Never redirected: without a valid document no redirect URI can be trusted.
            return error_page(
                request, "This application could not be verified", problem.description
            )
    elif client_id:
        client = await run_in_threadpool(context.store.client, client_id)
    if client is not None and client.blocked:
        # Never redirected: the client is not trusted any more.
        return error_page(
            request,
            "This application has been blocked",
            "Your hospital's administrator blocked it. Contact them if you need it.",
            status_code=403,
        )
    outcome = await run_in_threadpool(context.engine.validate_authorization, http)
    if isinstance(outcome, AuthorizationRejected):
        return error_page(request, "This connection request is not valid", outcome.description)
    if isinstance(outcome, OAuthResponse):
        return _redirect(outcome)
    prompt = set(outcome.params.get("prompt", "").split())
    session = await run_in_threadpool(current_session, context, request)
    # Logged in, and everything asked for was allowed before: no page to show.
    silent = session is not None and not prompt & {"login", "consent"}
    if session is not None and silent:
        consent = await run_in_threadpool(
            consent_for,
            context.store,
            session.account,
            outcome.client_id,
            outcome.resource,
            scopes.join(outcome.scope),
        )
        silent = consent.remembered
    if "none" in prompt and not silent:
        error = "login_required" if session is None else "consent_required"
        return _redirect(
            context.engine.reject_authorization(
                outcome.params, error, "The user must log in and consent."
            )
        )
    response = RedirectResponse("", status_code=303)
    bid = ensure_browser_id(context, request, response)
    now = context.clock()
    interaction = Interaction(
        id=new_id("int"),
        client_id=outcome.client_id,
        params=outcome.params,
        scope=scopes.join(outcome.scope),
        resource=outcome.resource,
        browser_binding=context.keys.browser_binding(bid),
        created_at=now,
        expires_at=now + context.settings.interaction_ttl,
    )
    await run_in_threadpool(context.store.add_interaction, interaction)
    if silent:
        assert session is not None
        await run_in_threadpool(
            allow_remembered, context.store, context.audit, context.clock, interaction,
            session.account, client_ip(request),
        )
        response.headers["location"] = f"/authorize/resume/{interaction.id}"
        return response
    response.headers["location"] = f"/interaction/{interaction.id}"
    return response


async def resume(request: Request) -> Response:
    """The browser is back from the pages: issue the code or access_denied, exactly once."""
    context = get_context(request)
    store = context.store
    interaction_id = request.path_params["interaction_id"]
    interaction = await run_in_threadpool(
        store.open_interaction, interaction_id, context.clock()
    )
    if interaction is None or not bound_to_browser(context, request, interaction):
        return error_page(
            request,
            "This sign-in request is no longer valid",
            "It has expired, was already used, or was started in another browser.",
        )
    completed = await run_in_threadpool(
        store.complete_interaction, interaction_id, context.clock()
    )
    if completed is None or completed.account_id is None:
        return error_page(
            request, "This sign-in request was already used", "Go back to your assistant."
        )
    account = None
    if completed.decision == "allow":
        account = await run_in_threadpool(store.account, completed.account_id)
        if account is not None and account.disabled:
            account = None
    # Exactly what was consented (or remembered): the scope and resource as resolved when the
    # request arrived, not what the client's registration says by now.
    consented = {**completed.params, "scope": completed.scope, "resource": completed.resource}
    outcome = await run_in_threadpool(context.engine.complete_authorization, consented, account)
    if isinstance(outcome, AuthorizationRejected) or outcome.location is None:
        return error_page(
            request, "This connection request is no longer valid", "Go back and connect again."
        )
    return _redirect(outcome)

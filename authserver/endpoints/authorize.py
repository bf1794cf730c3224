"""The authorization endpoint (OAuth 2.1 section 4.1.1): validate, decide what the request
needs (oauth.prompt), hand the user to the interaction pages when it needs them, and finish
when the browser comes back with the user's decision."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authserver.context import Context, get_context
from authserver.messages import N_, _
from authserver.models import Client
from authserver.oauth import handoff
from authserver.oauth.bridge import HttpRequest, OAuthResponse, read_request
from authserver.oauth.cimd import is_metadata_url
from authserver.oauth.clients import impersonable
from authserver.oauth.consent import allow_remembered, consent_for
from authserver.oauth.egress import FetchError
from authserver.oauth.prompt import (
    Authentication,
    Decision,
    InvalidAuthentication,
    Prompt,
    decide,
)
from authserver.oauth.server import AuthorizationRejected, PendingAuthorization
from authserver.policy import enrolment_required
from authserver.web.pages import PageError
from authserver.web.session import (
    LoginSession,
    bound_to_browser,
    client_ip,
    current_session,
    ensure_browser_id,
)
from shared import scopes


def _redirect(response: OAuthResponse) -> RedirectResponse:
    assert response.location is not None
    return RedirectResponse(response.location, status_code=303)

# What the page tells a person for each refusal validation can make before a redirect URI is
# trusted: Authlib's descriptions (and the request's own values they quote) are English for
# developers. "invalid_request" there is a missing or unregistered redirect URI, or a request
# whose characters cannot be read.
_REJECTIONS = {
    "invalid_client": N_("This application is not registered with HospiAI."),
    "invalid_request": N_(
        "The application sent an incomplete request, or asked to come back to an address it "
        "did not register."
    ),
}
_REJECTED = N_("The application sent a request HospiAI cannot accept.")


async def _client(context: Context, http: HttpRequest) -> Client | None:
    """The request's client, read once (fetched, for a metadata document). Refusals here are
    pages, never redirects: no redirect URI of an unverified or blocked client is trusted."""
    client_id = dict(http.query).get("client_id")
    if not client_id:
        return None
    client: Client | None
    if is_metadata_url(client_id):
        try:
            client = await context.documents.client(client_id, http.client_ip)
        except FetchError as problem:
            raise PageError(
                _("This application could not be verified"), problem.reason(_)
            ) from None
    else:
        client = await run_in_threadpool(context.store.client, client_id)
    if client is not None and client.blocked:
        raise PageError(
            _("This application has been blocked"),
            _("Your hospital's administrator blocked it. Contact them if you need it."),
            403,
        )
    return client


def _decide(
    context: Context, client: Client, pending: PendingAuthorization,
    authentication: Authentication, session: LoginSession | None,
) -> Decision:
    def remembered() -> bool:
        assert session is not None  # asked only once someone is logged in
        return consent_for(
            context.store, session.account, pending.client_id, pending.resource,
            scopes.join(pending.scope),
        ).remembered

    prompt = Prompt.parse(pending.params.get("prompt"))
    return decide(
        prompt,
        authentication,
        signed_in=session,
        now=context.clock(),
        on_device=impersonable(client, pending.params["redirect_uri"]),
        remembered=remembered,
    )


async def authorize(request: Request) -> Response:
    context = get_context(request)
    http = await read_request(request, context.settings.issuer)
    client = await _client(context, http)
    outcome = await run_in_threadpool(context.engine.validate_authorization, http, client)
    if isinstance(outcome, AuthorizationRejected):
        raise PageError(
            _("This connection request is not valid"),
            _(_REJECTIONS.get(outcome.error, _REJECTED)),
        )
    if isinstance(outcome, OAuthResponse):
        return _redirect(outcome)
    try:
        authentication = Authentication.parse(outcome.params)
    except InvalidAuthentication as problem:
        return _redirect(context.engine.reject_authorization(
            outcome.params, "invalid_request", str(problem)
        ))
    session = await _session(context, request)
    if session is not None:
        authentication = authentication.for_account(
            scopes.join(outcome.scope), session.account.role, context.settings.step_up_max_age
        )
    assert client is not None  # validation refuses a request without a known client
    decision = await run_in_threadpool(
        _decide, context, client, outcome, authentication, session
    )
    if decision.error is not None:
        return _redirect(context.engine.reject_authorization(
            outcome.params, decision.error, "The user must log in and consent."
        ))
    return await _hand_off(context, request, outcome, decision, session)


async def _session(context: Context, request: Request) -> LoginSession | None:
    """The browser's login, unless its role requires a second factor it lacks: then nothing is
    finished without the pages, which send it to enrolment (prompt=none gets login_required)."""
    session = await run_in_threadpool(current_session, context, request)
    if session is not None and await run_in_threadpool(
        enrolment_required, context.settings, context.store, session.account
    ):
        return None
    return session


async def _hand_off(
    context: Context, request: Request, pending: PendingAuthorization, decision: Decision,
    session: LoginSession | None,
) -> Response:
    """Store the interaction, bound to this browser, and send the browser on: to the pages, or
    when the user need not act (remembered or admin consent, recorded here) straight to resume,
    which issues the code."""
    response = RedirectResponse("", status_code=303)
    browser_id = ensure_browser_id(context, request, response)
    interaction = await run_in_threadpool(
        handoff.start, context, pending, decision, browser_id
    )
    if decision.need == "none":
        assert session is not None
        await run_in_threadpool(
            allow_remembered, context.store, context.audit, context.clock, interaction,
            session.account, client_ip(request), session.signed_in,
        )
        response.headers["location"] = f"/authorize/resume/{interaction.id}"
    else:
        response.headers["location"] = f"/interaction/{interaction.id}"
    return response


async def resume(request: Request) -> Response:
    """The browser is back from the pages: issue the code or access_denied, exactly once."""
    context = get_context(request)
    interaction_id = request.path_params["interaction_id"]
    interaction = await run_in_threadpool(
        context.store.open_interaction, interaction_id, context.clock()
    )
    if interaction is None or not bound_to_browser(context, request, interaction):
        raise PageError(
            _("This sign-in request is no longer valid"),
            _("It has expired, was already used, or was started in another browser."),
        )
    finished = await run_in_threadpool(
        handoff.finish, context.store, interaction_id, context.clock()
    )
    if finished is None:
        raise PageError(
            _("This sign-in request was already used"), _("Go back to your assistant.")
        )
    consented, signed_in = finished
    outcome = await run_in_threadpool(
        context.engine.complete_authorization, consented, signed_in
    )
    if isinstance(outcome, AuthorizationRejected) or outcome.location is None:
        raise PageError(
            _("This connection request is no longer valid"), _("Go back and connect again.")
        )
    return _redirect(outcome)

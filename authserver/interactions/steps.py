"""The interaction pages: log in (then the second step or enrolment, when the account's role or
the request asks for a second factor), then consent. Each step checks the interaction is open
and bound to this browser, and every POST checks the CSRF token."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authserver.context import Context, get_context
from authserver.interactions.login import finish_login, log_in, outstanding
from authserver.messages import _
from authserver.models import Account, Interaction
from authserver.oauth.clients import on_device, private_use_scheme
from authserver.oauth.consent import (
    Consent,
    allow_remembered,
    consent_for,
    record_decision,
)
from authserver.oauth.prompt import Authentication
from authserver.policy import enrolment_required, has_second_factor
from authserver.web.pages import (
    PageError,
    checked_form,
    error_page,
    form_field,
    login_page,
    render,
)
from authserver.web.paths import enrolment_url, second_step_url
from authserver.web.session import (
    LoginSession,
    bound_to_browser,
    client_ip,
    current_session,
)
from shared import scopes


async def _intro(context: Context, interaction: Interaction) -> str:
    """The login page's first line: which application asked (the consent page that follows
    says whether HospiAI checked who publishes it)."""
    client = await run_in_threadpool(context.store.client, interaction.client_id)
    if client is None:
        return _("An assistant is asking to connect to your HospiAI account.")
    return _("%(name)s is asking to connect to your HospiAI account.", name=client.client_name)


async def _open_interaction(request: Request) -> Interaction:
    """The interaction named in the path, if it is open and belongs to this browser."""
    context = get_context(request)
    interaction_id = request.path_params["interaction_id"]
    now = context.clock()
    interaction = await run_in_threadpool(context.store.open_interaction, interaction_id, now)
    if interaction is None or interaction.decision is not None:
        raise PageError(
            _("This sign-in request is no longer valid"),
            _("It has expired or was already answered. Go back to your assistant and connect "
              "again."),
        )
    if not bound_to_browser(context, request, interaction):
        raise PageError(
            _("This sign-in request was started in another browser"),
            _("For your safety it can only be finished where it started. Connect again from "
              "here."),
            403,
        )
    return interaction


def _consent(context: Context, account: Account, interaction: Interaction) -> Consent:
    return consent_for(
        context.store, account, interaction.client_id, interaction.resource, interaction.scope
    )


def _needs_login(interaction: Interaction, session: LoginSession | None) -> bool:
    if session is None:
        return True
    # oauth.prompt decided it when the request arrived (prompt=login): a login from before then
    # does not count.
    return interaction.force_login and session.auth_time < interaction.created_at


async def show(request: Request) -> Response:
    interaction = await _open_interaction(request)
    context = get_context(request)
    session = await run_in_threadpool(current_session, context, request)
    if _needs_login(interaction, session):
        return login_page(
            request, f"/interaction/{interaction.id}/login", await _intro(context, interaction),
            redirect_uri=interaction.params["redirect_uri"],
        )
    assert session is not None
    first = await _owed(context, interaction, session)
    if first is not None:
        return RedirectResponse(first, 303)
    if await _allowed_before(request, context, interaction, session.account, session.signed_in):
        return RedirectResponse(f"/authorize/resume/{interaction.id}", status_code=303)
    return await _consent_page(request, context, interaction, session)


def _asked(context: Context, interaction: Interaction, account: Account) -> Authentication:
    """What this request asks of the account's sign-in: the client's acr_values (max_age was
    decided at /authorize), and this server's own step-up rule for the account's role."""
    return Authentication.parse(interaction.params).for_account(
        interaction.scope, account.role, context.settings.step_up_max_age
    )


async def _owed(
    context: Context, interaction: Interaction, session: LoginSession
) -> str | None:
    """Where the session goes before this interaction is decided: to enrolment while the
    account's role requires a second factor it lacks (no authorization is finished until
    then); to the second step when the request asks for one (acr_values, RFC 9470 section 4)
    and this sign-in was a password alone, or to enrolment if the account has none."""
    back = f"/interaction/{interaction.id}"
    account = session.account
    if await run_in_threadpool(enrolment_required, context.settings, context.store, account):
        return enrolment_url(back)
    if not _asked(context, interaction, account).needs_second_factor(session):
        return None
    if await run_in_threadpool(has_second_factor, context.store, account):
        return second_step_url(back)
    return enrolment_url(back)


async def _allowed_before(
    request: Request, context: Context, interaction: Interaction, account: Account,
    signed_in: tuple[str, int],
) -> bool:
    """Everything asked for was allowed before: decided for the user, straight back to the
    client (a login whose second step came after the password arrives here by show)."""
    consent = await run_in_threadpool(_consent, context, account, interaction)
    if not consent.remembered or interaction.force_consent:
        return False
    await run_in_threadpool(
        allow_remembered, context.store, context.audit, context.clock, interaction, account,
        client_ip(request), signed_in,
    )
    return True


async def _consent_page(
    request: Request, context: Context, interaction: Interaction, session: LoginSession
) -> Response:
    client = await run_in_threadpool(context.store.client, interaction.client_id)
    if client is None:
        return error_page(
            request, _("Unknown application"), _("This application is not registered.")
        )
    consent = await run_in_threadpool(_consent, context, session.account, interaction)
    service = await run_in_threadpool(
        context.store.resource_server_by_resource, interaction.resource
    )
    # Marks are only useful when something was allowed before.
    marked = set(consent.new) if len(consent.new) < len(consent.granted) else set()
    redirect = urlsplit(interaction.params["redirect_uri"])
    private_use = private_use_scheme(interaction.params["redirect_uri"])
    return render(
        request,
        "consent.html",
        redirect_uri=interaction.params["redirect_uri"],
        interaction_id=interaction.id,
        account=session.account,
        client_name=client.client_name,
        client_kind=client.kind,
        # A metadata document was fetched from this host, so the client is who it names.
        verified_host=(
            urlsplit(client.client_id).hostname if client.kind == "metadata_document" else None
        ),
        redirect_host=redirect.netloc,
        # The redirect this request uses goes to an application on this device, by a local
        # address or a private-use scheme (RFC 8252): any program on it could claim either.
        private_use_scheme=private_use,
        on_device=on_device(interaction.params["redirect_uri"]),
        granted=[(scopes.BY_NAME[name], name in marked) for name in consent.granted],
        # The service the token will be good at, by its name (the resource URI means nothing
        # to a patient).
        service=service.name if service is not None else None,
    )


async def login(request: Request) -> Response:
    interaction = await _open_interaction(request)
    context = get_context(request)
    form = await checked_form(request)
    done = await log_in(
        request, form, f"/interaction/{interaction.id}/login", await _intro(context, interaction),
        interaction.params["redirect_uri"],
    )
    if isinstance(done, Response):
        return done
    now = context.clock()
    asked = _asked(context, interaction, done.account).mfa
    owed = await run_in_threadpool(outstanding, context, done, asked)
    # Consent remembered is used once the login is whole: after what is owed otherwise.
    resumed = owed is None and await _allowed_before(
        request, context, interaction, done.account, (done.amr, now)
    )
    next_page = f"/{'authorize/resume' if resumed else 'interaction'}/{interaction.id}"
    response = RedirectResponse("", status_code=303)
    new_browser_id = await finish_login(request, response, done, next_page, owed)
    # The login gave the browser a new id: this interaction follows it, and the old id (which
    # whoever planted or saw it may know) finishes nothing.
    await run_in_threadpool(
        context.store.rebind_interaction, interaction.id, interaction.browser_binding,
        context.keys.browser_binding(new_browser_id), now,
    )
    return response


async def consent(request: Request) -> Response:
    interaction = await _open_interaction(request)
    context = get_context(request)
    form = await checked_form(request)
    session = await run_in_threadpool(current_session, context, request)
    if _needs_login(interaction, session):
        return RedirectResponse(f"/interaction/{interaction.id}", status_code=303)
    assert session is not None
    first = await _owed(context, interaction, session)
    if first is not None:
        return RedirectResponse(first, 303)
    decision = form_field(form.get("decision"))
    if decision not in {"allow", "deny"}:
        return error_page(request, _("Unknown choice"), _("Choose Allow or Deny."))
    decided = await run_in_threadpool(
        context.store.decide_interaction,
        interaction.id,
        session.account.id,
        decision,
        context.clock(),
        *session.signed_in,
    )
    if not decided:
        return error_page(
            request, _("This request was already answered"), _("Go back to your assistant.")
        )
    event = "consent.given" if decision == "allow" else "consent.refused"
    await run_in_threadpool(
        record_decision, context.audit, interaction, session.account, event, client_ip(request)
    )
    return RedirectResponse(f"/authorize/resume/{interaction.id}", status_code=303)

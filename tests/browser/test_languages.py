"""The main flows in a real browser in French and in English, at phone and desktop width: the
front door, login, consent, the account page, error pages, the admin console (its lists and
dashboard) and adding a passkey. French comes from the browser's language, English from the
switch (its cookie then holds for every page); no page is wider than the screen.
Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pyotp
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.browser.conftest import Callback, exchange_back, open_authorize, screenshot
from tests.browser.test_passkeys import authenticator
from tests.databases import Databases
from tests.flow import tokens_for
from tests.harness import PASSWORD, AuthServer, Stack, start_auth_server
from tests.internet import Internet, client_document
from tests.mcpserver.helpers import call

SIZES: dict[str, ViewportSize] = {
    "phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800},
}
# What each language calls the things a person clicks and reads.
WORDS = {
    "fr": {"email": "Adresse e-mail", "password": "Mot de passe", "log_in": "Se connecter",
           "allow": "Autoriser", "account": "Votre compte HospiAI",
           "front": "Connecter un assistant",
           "asking": "Test Client demande à se connecter à votre compte HospiAI.",
           "scope": "Voir les hôpitaux et leurs disponibilités",
           "error": "Cette demande de connexion n\u2019est plus valable",
           "refused": "Cette demande de connexion n\u2019est pas valable",
           "unknown_app": "Cette application n\u2019est pas enregistrée auprès de HospiAI.",
           "admin": "Administration de HospiAI Connect", "audit": "Journal d\u2019audit",
           "dashboard": "Tableau de bord", "grants": "Autorisations en cours",
           "passkey": "Ajouter une clé d\u2019accès",
           "enrol": "Configurer la connexion en deux étapes",
           "app": "Configurer une application d\u2019authentification", "turn_on": "Activer",
           "codes_on": "La connexion en deux étapes est activée",
           "second": "Connexion en deux étapes", "continue": "Continuer",
           "name_it": "Donnez-lui un nom", "use_passkey": "Utiliser une clé d\u2019accès",
           "sessions": "Où vous êtes connecté", "name": "Nom", "expires": "Expire après",
           "create_token": "Créer le jeton", "new_token": "Votre nouveau jeton",
           "data_access": "Qui a accédé à vos données de santé",
           "read_profile": "a consulté votre profil", "log_out": "Se déconnecter",
           "throttled": "Trop de tentatives de connexion ont échoué.",
           "add_rs": "Ajouter le serveur de ressources", "rs_uri": "URI de la ressource",
           "rs_secret": "Nouveaux identifiants du serveur de ressources",
           "never_used": "dernière utilisation\u00a0: jamais", "logged_in": "Connexion réussie",
           "previous": "Secret précédent", "none_kept": "aucun"},
    "en": {"email": "Email", "password": "Password", "log_in": "Log in", "allow": "Allow",
           "account": "Your HospiAI account", "front": "Connect an assistant",
           "asking": "Test Client is asking to connect to your HospiAI account.",
           "scope": "See hospitals and availability",
           "error": "This sign-in request is no longer valid",
           "refused": "This connection request is not valid",
           "unknown_app": "This application is not registered with HospiAI.",
           "admin": "HospiAI Connect administration", "audit": "Audit log",
           "dashboard": "Dashboard", "grants": "Live grants", "passkey": "Add a passkey",
           "enrol": "Set up two-step sign-in", "app": "Set up an authenticator app",
           "turn_on": "Turn on", "codes_on": "Two-step sign-in is on",
           "second": "Two-step sign-in", "continue": "Continue",
           "name_it": "Name it", "use_passkey": "Use a passkey",
           "sessions": "Where you are logged in", "name": "Name", "expires": "Expires after",
           "create_token": "Create token", "new_token": "Your new token",
           "data_access": "Who reached your health data", "read_profile": "read your profile",
           "log_out": "Log out",
           "throttled": "Too many failed login attempts.",
           "add_rs": "Add resource server", "rs_uri": "Resource URI",
           "rs_secret": "New resource server credentials", "never_used": "last used never",
           "logged_in": "Logged in", "previous": "Previous secret", "none_kept": "none kept"},
}


@pytest.fixture
def french_server(databases: Databases) -> Iterator[AuthServer]:
    with start_auth_server(databases, default_locale="fr") as server:
        yield server


def _browser_page(chromium: Browser, size: str) -> Page:
    """A French-speaking browser (Accept-Language fr-FR), with a fresh profile."""
    return chromium.new_context(viewport=SIZES[size], locale="fr-FR").new_page()


def _look(page: Page, lang: str, name: str) -> None:
    """The page is in ``lang``, fits the screen's width, and is saved for people to look at."""
    expect(page.locator("html")).to_have_attribute("lang", lang)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name} is {overflow} px wider than the screen"
    screenshot(page, name)


def _visit(
    page: Page, url: str, lang: str, name: str, heading: str | None = None
) -> None:
    """Open ``url`` and look at it (its main heading, when given, is shown)."""
    page.goto(url)
    if heading is not None:
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
    _look(page, lang, name)


def _choose(page: Page, lang: str, url: str) -> None:
    page.goto(f"{url}/")
    if lang == "en":  # the switch, from the French a French browser gets first
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        page.get_by_role("link", name="English").click()
        page.wait_for_url(f"{url}/")


def _start(page: Page, lang: str, url: str, email: str, next_page: str) -> None:
    """The language chosen, then logged in on the way to ``next_page``."""
    _choose(page, lang, url)
    page.goto(f"{url}/login?next={quote(next_page, safe='')}")
    _log_in(page, WORDS[lang], email)


def _log_in(page: Page, words: dict[str, str], email: str) -> None:
    page.get_by_label(words["email"]).fill(email)
    page.get_by_label(words["password"], exact=True).fill(PASSWORD)
    page.get_by_role("button", name=words["log_in"], exact=True).click()


@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_a_patient_connects_an_assistant(
    chromium: Browser, french_server: AuthServer, callback: Callback, lang: str, size: str
) -> None:
    words, page = WORDS[lang], _browser_page(chromium, size)
    public_client = french_server.client(public=True).id
    try:
        _choose(page, lang, french_server.url)
        expect(page.get_by_role("heading", name=words["front"])).to_be_visible()
        _look(page, lang, f"i18n-front-door-{lang}-{size}")
        verifier = open_authorize(page, french_server, public_client, callback)
        expect(page.get_by_text(words["asking"])).to_be_visible()
        _look(page, lang, f"i18n-login-{lang}-{size}")
        _log_in(page, words, french_server.account().email)
        expect(page.locator("main")).to_contain_text(words["scope"])
        _look(page, lang, f"i18n-consent-{lang}-{size}")
        page.get_by_role("button", name=words["allow"], exact=True).click()
        page.wait_for_url(f"{callback.uri}?*")
        assert exchange_back(french_server, public_client, callback, verifier) == 200
        url = french_server.url
        _visit(page, f"{url}/account", lang, f"i18n-account-{lang}-{size}", words["account"])
        expect(page.locator("main")).to_contain_text("Test Client")
        _visit(page, f"{url}/authorize/resume/no-such-request", lang,
               f"i18n-error-{lang}-{size}", words["error"])
        _visit(page, f"{url}/authorize?response_type=code&client_id=no-such-client", lang,
               f"i18n-authorize-refused-{lang}-{size}", words["refused"])
        expect(page.locator("main")).to_contain_text(words["unknown_app"])
    finally:
        page.context.close()


# Why an application that names itself by a metadata document (CIMD) was refused: a fetch that
# failed, in which the engine names the document, and a rule of the document's content.
UNVERIFIED = {
    "fr": ("Cette application n\u2019a pas pu être vérifiée",
           "Le document de métadonnées de l\u2019application n\u2019a pas pu être obtenu\u00a0: "
           "son serveur a répondu HTTP 404.",
           "Le document de métadonnées de l\u2019application n\u2019a pas de client_name."),
    "en": ("This application could not be verified",
           "The application's metadata document answered HTTP 404.",
           "The application's metadata document has no client_name."),
}


@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_an_application_that_cannot_be_verified_is_explained(
    chromium: Browser, databases: Databases, internet: Internet, callback: Callback, lang: str,
    size: str,
) -> None:
    missing = "https://assistant.example/missing.json"  # not published: HTTP 404
    nameless = "https://assistant.example/nameless.json"
    internet.publish(nameless, client_document(nameless, [callback.uri], client_name=""))
    title, *reasons = UNVERIFIED[lang]
    page = _browser_page(chromium, size)
    with start_auth_server(
        databases, default_locale="fr", egress=internet.egress(),
        metadata_documents_allow_private=True,
    ) as server:
        try:
            _choose(page, lang, server.url)
            for client_id, reason, name in zip(
                (missing, nameless), reasons, ("unreachable", "invalid"), strict=True
            ):
                open_authorize(page, server, client_id, callback)
                expect(page.get_by_role("heading", name=title)).to_be_visible()
                expect(page.get_by_role("alert")).to_have_text(reason)
                _look(page, lang, f"i18n-unverified-{name}-{lang}-{size}")
        finally:
            page.context.close()


@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_an_admin_reads_the_console(
    chromium: Browser, french_server: AuthServer, lang: str, size: str
) -> None:
    words, page = WORDS[lang], _browser_page(chromium, size)
    admin, client = french_server.account("admin"), french_server.client()
    try:
        _start(page, lang, french_server.url, admin.email, "/admin")
        expect(page.get_by_role("heading", name=words["admin"])).to_be_visible()
        _look(page, lang, f"i18n-admin-{lang}-{size}")
        # "Secret" is masculine: not the "aucune" of a URI or a method.
        expect(page.locator(f'td[data-label="{words["previous"]}"]')).to_have_text(
            words["none_kept"]
        )
        for path, name, heading in (
            (f"/admin/accounts/{admin.id}", "admin-account", None),
            (f"/admin/confirm/accounts/{admin.id}/disabled", "admin-confirm", None),
            ("/admin/audit", "admin-audit", words["audit"]),
            ("/admin/dashboard", "admin-dashboard", words["dashboard"]),
            ("/admin/accounts", "admin-accounts", None),
            ("/admin/grants", "admin-grants", words["grants"]),
            ("/account/passkeys", "passkeys", words["passkey"]),
            (f"/admin/clients/{client.id}", "admin-client", "Test Client"),
        ):
            _visit(page, f"{french_server.url}{path}", lang, f"i18n-{name}-{lang}-{size}", heading)
        expect(page.locator("main")).to_contain_text(words["never_used"])  # the client page
        # The audit log names each event in the reader's words, its code beside for searches.
        page.goto(f"{french_server.url}/admin/audit?event=login.")
        newest = page.locator("table.audit tbody tr").first
        expect(newest.locator("td.event")).to_contain_text(words["logged_in"])
        expect(newest.locator("td.event code.tag")).to_have_text("login.succeeded")
        page.goto(f"{french_server.url}/admin")
        page.locator("#rs-name").fill("Dossiers de Lyon")
        page.get_by_label(words["rs_uri"]).fill("https://records.lyon.example/api")
        page.get_by_role("button", name=words["add_rs"]).click()
        expect(page.get_by_role("heading", name=words["rs_secret"])).to_be_visible()
        _look(page, lang, f"i18n-admin-secret-{lang}-{size}")
    finally:
        page.context.close()


@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_staff_set_up_and_use_two_step_sign_in(
    chromium: Browser, databases: Databases, lang: str, size: str
) -> None:
    words, page = WORDS[lang], _browser_page(chromium, size)
    with start_auth_server(databases, host="localhost", mfa_roles=frozenset({"staff"})) as server:
        staff, url = server.account("staff"), server.settings.issuer  # a passkey needs a host
        try:
            _start(page, lang, url, staff.email, "/account")
            expect(page.get_by_role("heading", name=words["enrol"])).to_be_visible()
            _look(page, lang, f"i18n-enrolment-choice-{lang}-{size}")
            page.get_by_role("button", name=words["app"]).click()
            expect(page.locator("figure.qr svg")).to_be_visible()
            _look(page, lang, f"i18n-one-time-codes-{lang}-{size}")
            totp = pyotp.TOTP(page.locator("#secret").inner_text())
            page.get_by_label("Code").fill(totp.at(server.clock()))
            page.get_by_role("button", name=words["turn_on"]).click()
            expect(page.get_by_role("heading", name=words["codes_on"])).to_be_visible()
            _look(page, lang, f"i18n-recovery-codes-{lang}-{size}")
            server.clock.advance(30)  # the next code: the one just used is spent
            authenticator(page)
            page.goto(f"{url}/account/passkeys")
            page.get_by_label(words["name_it"]).fill("Clé USB")
            page.get_by_role("button", name=words["passkey"]).click()
            expect(page.get_by_role("heading", name=words["account"])).to_be_visible()
            page.get_by_role("button", name=words["log_out"], exact=True).click()
            page.goto(f"{url}/login?next=%2Faccount")
            _log_in(page, words, staff.email)
            expect(page.get_by_role("heading", name=words["second"])).to_be_visible()
            expect(page.get_by_role("button", name=words["use_passkey"])).to_be_visible()
            _look(page, lang, f"i18n-second-step-{lang}-{size}")
            page.get_by_label("Code").fill(totp.at(server.clock()))
            page.get_by_role("button", name=words["continue"]).click()
            expect(page.get_by_role("heading", name=words["account"])).to_be_visible()
        finally:
            page.context.close()


@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_a_patient_manages_the_account(
    chromium: Browser, stack: Stack, lang: str, size: str
) -> None:
    """Sessions, connected apps, a personal token, who reached the data (through the real MCP
    server), logging out, then logging in paused after too many failures."""
    words, page, server = WORDS[lang], _browser_page(chromium, size), stack.auth
    account, app = server.account(), server.client(public=True, name="Le Chat")
    token = tokens_for(server, app.id, account.email, resource=stack.mcp_url,
                       scope="read:data read:profile")["access_token"]
    assert call(stack, token, "get_my_profile", {}).get("isError") is not True
    try:
        _start(page, lang, server.url, account.email, "/account")
        expect(page.get_by_role("heading", name=words["sessions"])).to_be_visible()
        expect(page.locator("main")).to_contain_text("Le Chat")
        _look(page, lang, f"i18n-account-apps-{lang}-{size}")
        page.get_by_label(words["name"], exact=True).fill("Ancien assistant")
        page.get_by_label(words["scope"]).check()
        page.get_by_label(words["expires"]).fill("7")
        page.get_by_role("button", name=words["create_token"]).click()
        assert page.get_by_label(words["new_token"]).input_value().startswith("hospiai_pat_")
        _look(page, lang, f"i18n-personal-token-{lang}-{size}")
        _visit(page, f"{server.url}/account/data-access", lang,
               f"i18n-data-access-{lang}-{size}", words["data_access"])
        expect(page.locator("li.item")).to_contain_text(words["read_profile"])
        page.goto(f"{server.url}/account")
        page.get_by_role("button", name=words["log_out"], exact=True).click()
        page.wait_for_url(f"{server.url}/login")
        _look(page, lang, f"i18n-logged-out-{lang}-{size}")
        for _ in range(server.settings.login_failures_per_account + 1):
            page.get_by_label(words["email"]).fill(account.email)
            page.get_by_label(words["password"], exact=True).fill("not-the-password")
            page.get_by_role("button", name=words["log_in"], exact=True).click()
        expect(page.get_by_role("alert")).to_contain_text(words["throttled"])
        _look(page, lang, f"i18n-throttled-{lang}-{size}")
    finally:
        page.context.close()

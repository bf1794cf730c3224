"""The main flows in a real browser in French and in English, at phone and desktop width: the
front door, login, consent, the account page, an error page, the admin console (its lists and
dashboard) and adding a passkey. French comes from the browser's language, English from the
switch (its cookie then holds for every page); no page is wider than the screen.
Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.browser.conftest import Callback, exchange_back, open_authorize, screenshot
from tests.databases import Databases
from tests.harness import PASSWORD, AuthServer, start_auth_server

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
           "admin": "Administration de HospiAI Connect", "audit": "Journal d\u2019audit",
           "dashboard": "Tableau de bord", "grants": "Autorisations en cours",
           "passkey": "Ajouter une clé d\u2019accès"},
    "en": {"email": "Email", "password": "Password", "log_in": "Log in", "allow": "Allow",
           "account": "Your HospiAI account", "front": "Connect an assistant",
           "asking": "Test Client is asking to connect to your HospiAI account.",
           "scope": "See hospitals and availability",
           "error": "This sign-in request is no longer valid",
           "admin": "HospiAI Connect administration", "audit": "Audit log",
           "dashboard": "Dashboard", "grants": "Live grants", "passkey": "Add a passkey"},
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


def _choose(page: Page, lang: str, server: AuthServer) -> None:
    page.goto(f"{server.url}/")
    if lang == "en":  # the switch, from the French a French browser gets first
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        page.get_by_role("link", name="English").click()
        page.wait_for_url(f"{server.url}/")


def _log_in(page: Page, words: dict[str, str], email: str) -> None:
    page.get_by_label(words["email"]).fill(email)
    page.get_by_label(words["password"], exact=True).fill(PASSWORD)
    page.get_by_role("button", name=words["log_in"]).click()


@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_a_patient_connects_an_assistant(
    chromium: Browser, french_server: AuthServer, callback: Callback, lang: str, size: str
) -> None:
    words, page = WORDS[lang], _browser_page(chromium, size)
    public_client = french_server.client(public=True).id
    try:
        _choose(page, lang, french_server)
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
    finally:
        page.context.close()


@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_an_admin_reads_the_console(
    chromium: Browser, french_server: AuthServer, lang: str, size: str
) -> None:
    words, page = WORDS[lang], _browser_page(chromium, size)
    admin = french_server.account("admin")
    try:
        _choose(page, lang, french_server)
        page.goto(f"{french_server.url}/login?next=%2Fadmin")
        _log_in(page, words, admin.email)
        expect(page.get_by_role("heading", name=words["admin"])).to_be_visible()
        _look(page, lang, f"i18n-admin-{lang}-{size}")
        for path, name, heading in (
            (f"/admin/accounts/{admin.id}", "admin-account", None),
            (f"/admin/confirm/accounts/{admin.id}/disabled", "admin-confirm", None),
            ("/admin/audit", "admin-audit", words["audit"]),
            ("/admin/dashboard", "admin-dashboard", words["dashboard"]),
            ("/admin/accounts", "admin-accounts", None),
            ("/admin/grants", "admin-grants", words["grants"]),
            ("/account/passkeys", "passkeys", words["passkey"]),
        ):
            _visit(page, f"{french_server.url}{path}", lang, f"i18n-{name}-{lang}-{size}", heading)
    finally:
        page.context.close()

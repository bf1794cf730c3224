"""Pages in French or English: the browser's choice on the switch (a cookie), else its
Accept-Language, else HOSPIAI_DEFAULT_LOCALE (French unless set); <html lang> follows, and
OAuth's JSON errors stay English whatever the language."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import sqlalchemy

from authserver.messages import _
from authserver.oauth.cimd import document_columns
from authserver.oauth.egress import FetchError, url_problem
from authserver.web.session import device_label
from shared.i18n import speaking
from tests.databases import Databases
from tests.flow import begin, csrf_token, logged_in, login
from tests.harness import PASSWORD, AuthServer, start_auth_server
from tests.internet import client_document

# 1 December 2026, 19:58 in Paris.
EVENING = 1796151480


@pytest.fixture
def french_server(databases: Databases) -> Iterator[AuthServer]:
    """The setting's default, French."""
    with start_auth_server(databases, default_locale="fr") as server:
        yield server


def _login_page(browser: httpx.Client, **headers: str) -> httpx.Response:
    first = browser.get("/login", params={"next": "/account"}, headers=headers)
    return browser.get(first.headers["location"], headers=headers)


def _lang(page: str) -> str:
    found = re.search(r'<html lang="([a-z]+)">', page)
    assert found, page[:200]
    return found.group(1)


def _switch(page: str) -> str:
    """The one link of the page's language switch."""
    links = re.findall(r'<a href="(/language\?[^"]+)" hreflang=', page)
    assert len(links) == 1, page
    return html.unescape(links[0])


def test_french_by_default(french_server: AuthServer) -> None:
    with french_server.http() as browser:
        page = _login_page(browser).text
    assert _lang(page) == "fr"
    assert "Connexion à HospiAI" in page and "Mot de passe" in page
    assert "Log in to HospiAI" not in page
    assert "Connectez-vous pour gérer votre compte HospiAI." in page
    assert ">English</a>" in page  # the switch names the other language


@pytest.mark.parametrize(
    ("accept_language", "lang"),
    [("en-GB,en;q=0.9", "en"), ("de-DE,en;q=0.5", "en"), ("de-DE", "fr"), ("fr-CA", "fr")],
)
def test_accept_language_when_no_choice_was_made(
    french_server: AuthServer, accept_language: str, lang: str
) -> None:
    with french_server.http() as browser:
        page = _login_page(browser, **{"Accept-Language": accept_language}).text
    assert _lang(page) == lang
    assert ("Log in to HospiAI" in page) == (lang == "en")


def test_the_switch_remembers_the_choice_and_comes_back(french_server: AuthServer) -> None:
    with french_server.http() as browser:
        page = _login_page(browser, **{"Accept-Language": "fr"})
        here = f"{page.url.path}?{page.url.query.decode()}"
        switch = _switch(page.text)
        assert parse_qs(urlsplit(switch).query) == {"lang": ["en"], "next": [here]}
        response = browser.get(switch)
        assert response.status_code == 303 and response.headers["location"] == here
        assert response.headers["cache-control"] == "no-store"
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("hospiai_locale=en;") and "HttpOnly" in cookie
        assert "SameSite=lax" in cookie and "Max-Age=31536000" in cookie
        # The choice wins over Accept-Language, on every page from now on.
        again = browser.get(here, headers={"Accept-Language": "fr"}).text
        assert _lang(again) == "en" and "Log in to HospiAI" in again
        assert parse_qs(urlsplit(_switch(again)).query)["lang"] == ["fr"]
        back = browser.get(_switch(again))
        assert browser.get(back.headers["location"]).text.count('<html lang="fr">') == 1


@pytest.mark.parametrize(
    "next_page", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "account", ""]
)
def test_the_switch_returns_only_to_a_path_on_this_server(
    french_server: AuthServer, next_page: str
) -> None:
    with french_server.http() as browser:
        response = browser.get("/language", params={"lang": "en", "next": next_page})
    assert response.status_code == 303 and response.headers["location"] == "/"


@pytest.mark.parametrize("lang", ["de", "", "FR", "fr-FR", "en\u00e9"])
def test_the_switch_refuses_another_language(french_server: AuthServer, lang: str) -> None:
    with french_server.http() as browser:
        response = browser.get("/language", params={"lang": lang, "next": "/account"})
    assert response.status_code == 400 and "set-cookie" not in response.headers
    assert "Langue inconnue" in response.text and "Choisissez le français ou l\u2019anglais." in (
        response.text
    )


def test_a_forged_cookie_is_no_choice(french_server: AuthServer) -> None:
    with french_server.http() as browser:
        browser.cookies.set("hospiai_locale", "de")
        page = _login_page(browser, **{"Accept-Language": "en"}).text
    assert _lang(page) == "en"


# Language cookies a browser could send that are neither "fr" nor "en": no such language,
# another case or a region, an empty, quoted, listed or long value, bytes that are no text.
BOGUS_COOKIES = [b"de", b"", b"FR", b"fr-FR", b'"de"', b"fr,en", b"x" * 4000, b"\xff\xfe"]


@pytest.mark.parametrize("value", BOGUS_COOKIES)
def test_a_bogus_cookie_is_the_default_language_and_no_error(
    french_server: AuthServer, value: bytes
) -> None:
    """The cookie is only looked up in LOCALES: any other value is no choice, on a page and on
    the protocol's paths alike (an error page of /authorize, JSON of /token and metadata)."""
    cookie = {b"Cookie": b"hospiai_locale=" + value}
    with french_server.http() as browser:
        page = browser.get("/", headers=cookie)
        refused = browser.get("/authorize", params={"client_id": "nowhere"}, headers=cookie)
        metadata = browser.get("/.well-known/oauth-authorization-server", headers=cookie)
        token = browser.post("/token", data={"grant_type": "authorization_code"}, headers=cookie)
    assert page.status_code == 200 and _lang(page.text) == "fr"
    assert refused.status_code == 400 and _lang(refused.text) == "fr"
    assert "Cette demande de connexion n\u2019est pas valable" in refused.text
    assert metadata.status_code == 200
    assert metadata.json()["issuer"] == french_server.settings.issuer
    assert token.status_code == 401 and token.json()["error"] == "invalid_client"


def test_the_cookie_is_host_only_and_secure_on_https(databases: Databases) -> None:
    with start_auth_server(databases, scheme="https") as server, server.http() as browser:
        response = browser.get("/language", params={"lang": "fr", "next": "/"})
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-hospiai_locale=fr;") and "Secure" in cookie


def test_the_answer_to_a_form_switches_back_to_its_page(french_server: AuthServer) -> None:
    """A page shown in answer to a POST offers the page that has the form, not the POST."""
    email = french_server.account().email
    with logged_in(french_server, email) as browser:
        page = browser.get("/account")
        refused = browser.post(
            "/account/tokens",
            data={"csrf_token": csrf_token(page.text), "name": "", "days": "30"},
        )
    assert refused.status_code == 400
    assert "Donnez au jeton un nom de 1 à 100 caractères." in refused.text
    assert parse_qs(urlsplit(_switch(refused.text)).query)["next"] == ["/account"]


def test_times_in_french_in_paris(french_server: AuthServer) -> None:
    french_server.clock.frozen_at = EVENING
    email = french_server.account().email
    with logged_in(french_server, email) as browser:
        page = browser.get("/account").text
        english = browser.get("/account", headers={"Accept-Language": "en"}).text
    assert "Connexion le <time>1 déc. 2026, 19:58</time>" in page
    assert "Votre compte HospiAI" in page and "Se déconnecter" in page
    assert _lang(english) == "en"
    assert "Logged in <time>1 Dec 2026, 19:58</time>" in english


def test_consent_and_error_pages_in_french(french_server: AuthServer) -> None:
    account = french_server.account()
    client_id = french_server.client(public=True, name="Le Chat").id
    with french_server.http() as browser:
        started, _verifier = begin(browser, client_id)
        interaction = started.headers["location"]
        signed_in = login(browser, interaction, account.email, PASSWORD)
        assert signed_in.status_code == 303
        consent = browser.get(interaction).text
        gone = browser.get("/authorize/resume/no-such-interaction")
    assert "Autoriser <strong>Le Chat</strong> à utiliser votre compte HospiAI\u202f?" in consent
    assert "Voir les hôpitaux et leurs disponibilités" in consent  # the scope catalogue
    assert ">Refuser</button>" in consent and ">Autoriser</button>" in consent
    assert gone.status_code == 400 and _lang(gone.text) == "fr"
    assert "Cette demande de connexion n\u2019est plus valable" in gone.text
    assert "Vous pouvez fermer cette page et retourner à votre assistant." in gone.text


def test_oauth_errors_stay_english(french_server: AuthServer) -> None:
    """error_description is for developers, whatever the browser or client reads."""
    answers = []
    with french_server.http() as client:
        for language in ("fr", "en"):
            headers = {"Accept-Language": language}
            for response in (
                client.post("/register", json={"redirect_uris": ["ftp://x"]}, headers=headers),
                client.post("/token", data={"grant_type": "authorization_code"}, headers=headers),
            ):
                answers.append((response.status_code, response.json()))
    assert answers[:2] == answers[2:]
    assert "must use https" in answers[0][1]["error_description"]
    assert "cannot authenticate" in answers[1][1]["error_description"]


DOCUMENT = "https://assistant.example/client.json"


def _refusal(document: object) -> FetchError:
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    try:
        document_columns(DOCUMENT, body, frozenset())
    except FetchError as refused:
        return refused
    raise AssertionError("the document was accepted")


@pytest.mark.parametrize(
    ("problem", "french"),
    [
        (url_problem("https://assistant.example/a/../c.json"),
         "L\u2019adresse de l\u2019application doit avoir un chemin sans segment «\u00a0.\u00a0» "
         "ni «\u00a0..\u00a0»."),
        (url_problem("https://user:pw@assistant.example/c.json"),
         "L\u2019adresse de l\u2019application ne doit pas contenir d\u2019identifiants"),
        (_refusal(b"{not json"),
         "Le document de métadonnées de l\u2019application n\u2019est pas au format JSON."),
        (_refusal([DOCUMENT]),
         "Le document de métadonnées de l\u2019application n\u2019est pas un objet JSON."),
        (_refusal(client_document(DOCUMENT, ["https://a.example/cb"], client_secret="s")),
         "Le document de métadonnées de l\u2019application contient un secret."),
        # The rule broken is registration's, in English for the application's developers.
        (_refusal(client_document(DOCUMENT, ["http://assistant.example/cb"])),
         "Le document de métadonnées de l\u2019application n\u2019est pas valide. Pour son "
         "éditeur, la règle enfreinte\u00a0: redirect_uris"),
    ],
)
def test_a_refused_metadata_document_reads_french(problem: FetchError | None, french: str) -> None:
    """The engine marks why an application could not be verified, and the page says it in the
    person's language, the document it names too; the description stays English for OAuth."""
    assert problem is not None
    with speaking("fr"):
        assert problem.reason(_).startswith(french)
        assert problem.description == problem.reason(str) != problem.reason(_)


def test_a_path_with_no_page_reads_french(french_server: AuthServer) -> None:
    """A mistyped link is a page in the person's language, not the router's English text; the
    protocol's paths keep the plain answer of an HTTP API."""
    with french_server.http() as browser:
        missing = browser.get("/acount")
        english = browser.get("/acount", headers={"Accept-Language": "en"})
        api = browser.get("/.well-known/no-such-document")
    assert missing.status_code == english.status_code == api.status_code == 404
    assert _lang(missing.text) == "fr" and "<h1>Page introuvable</h1>" in missing.text
    assert '<a href="/">Aller à l\u2019accueil de HospiAI Connect</a>' in missing.text
    assert _lang(english.text) == "en" and "<h1>Page not found</h1>" in english.text
    assert api.text == "Not Found" and api.headers["content-type"].startswith("text/plain")


def test_a_page_asked_with_another_method_reads_french(french_server: AuthServer) -> None:
    """GET /logout (a bookmarked or typed form target) is a page in the person's language that
    says which method the address takes; the protocol's paths keep the plain answer."""
    with french_server.http() as browser:
        refused = browser.get("/logout")
        english = browser.get("/logout", headers={"Accept-Language": "en"})
        api = browser.get("/token")
    assert refused.status_code == english.status_code == api.status_code == 405
    assert _lang(refused.text) == "fr"
    assert "<h1>Cette adresse ne s\u2019ouvre pas ainsi</h1>" in refused.text
    assert refused.headers["allow"] == "POST" and refused.headers["x-frame-options"] == "DENY"
    assert "<h1>This address does not open this way</h1>" in english.text
    assert api.text == "Method Not Allowed" and api.headers["allow"] == "POST"
    assert api.headers["content-type"].startswith("text/plain")


def test_an_unexpected_failure_on_a_page_reads_french(
    french_server: AuthServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The database loses a table the login needs: the person gets a page in their language
    (with the page's security headers), the log the detail; OAuth's paths keep server_error."""
    with french_server.http() as browser:
        form = _login_page(browser)
        with sqlalchemy.create_engine(french_server.settings.database_url).begin() as database:
            database.exec_driver_sql("DROP TABLE attempt")
        failed = browser.post(str(form.url), data={
            "csrf_token": csrf_token(form.text), "email": "a@hospiai.test", "password": "x" * 12,
        })
        registered = browser.post("/register", json={"redirect_uris": ["https://a.example/cb"]})
    assert failed.status_code == 500 and _lang(failed.text) == "fr"
    assert "<h1>Une erreur s\u2019est produite</h1>" in failed.text
    assert "attempt" not in failed.text and failed.headers["x-frame-options"] == "DENY"
    assert "unhandled error on POST /login" in caplog.text
    assert registered.status_code == 500 and registered.json()["error"] == "server_error"


def test_stored_english_reads_french(french_server: AuthServer) -> None:
    """A session's device and a refused admin form come from English the store or the CLI
    share; the page says them in French."""
    admin = french_server.account("admin")
    with logged_in(french_server, admin.email, "/admin") as browser:
        page = browser.get("/admin/accounts")
        refused = browser.post("/admin/accounts", data={
            "csrf_token": csrf_token(page.text), "email": "not-an-address", "given_name": "A",
            "family_name": "B", "role": "patient", "password": "long enough password",
        })
    with speaking("fr"):
        assert device_label("Firefox on Linux") == "Firefox sous Linux"
        assert device_label("Unknown browser") == "Navigateur inconnu"
        assert device_label("curl") == "curl"
    assert refused.status_code == 400
    assert "Le compte n\u2019a pas été créé" in refused.text
    assert "&#39;not-an-address&#39; n\u2019est pas une adresse e-mail" in refused.text


def test_a_refused_authorization_request_reads_french(french_server: AuthServer) -> None:
    """The page shown when no redirect URI can be trusted says why in the person's language,
    not in Authlib's English description."""
    client_id = french_server.client(public=True).id
    request = {"response_type": "code", "client_id": client_id, "code_challenge": "x" * 43,
               "code_challenge_method": "S256", "redirect_uri": "http://evil.example/cb"}
    with french_server.http() as browser:
        unknown = browser.get("/authorize", params={**request, "client_id": "no-such-client"})
        elsewhere = browser.get("/authorize", params=request)
        english = browser.get("/authorize", params=request, headers={"Accept-Language": "en"})
    assert unknown.status_code == elsewhere.status_code == 400
    assert "Cette application n\u2019est pas enregistrée auprès de HospiAI." in unknown.text
    assert "demandé à revenir à une adresse qu\u2019elle n\u2019a pas enregistrée" in elsewhere.text
    assert "asked to come back to an address it did not register" in english.text
    for page in (unknown.text, elsewhere.text, english.text):
        assert "does not exist" not in page and "not supported by client" not in page

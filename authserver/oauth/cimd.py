"""Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): a client_id that
is an https URL names a JSON document of the client's metadata. It is fetched with SSRF guards
and size and time limits, validated like a registration, and cached within bounds."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import OAuth2Error
from joserfc.errors import JoseError
from starlette.concurrency import run_in_threadpool

from authserver.models import Client
from authserver.oauth.egress import (
    Fetcher,
    FetchError,
    cache_seconds,
    parse_json,
    url_problem,
)
from authserver.oauth.registration import DocumentMetadata, client_columns
from authserver.oauth.services import Services
from shared.i18n import mark as N_

KIND = "metadata_document"
# Section 8.7 suggests 5 KB.
MAX_DOCUMENT_BYTES = 5 * 1024
_WHAT = N_("The application's metadata document")


def is_metadata_url(client_id: str) -> bool:
    """Section 3: a client_id in the https scheme is a metadata document URL (or invalid)."""
    return client_id[:8].lower() == "https://"


def document_columns(url: str, body: bytes, private_use: frozenset[str]) -> dict[str, Any]:
    """The stored client's columns from a fetched document, validated (sections 4 and 8); a
    FetchError says why the document cannot be used, as the fetch's own do."""
    document = parse_json(body, _WHAT)
    if not isinstance(document, dict):
        raise FetchError(N_("%(what)s is not a JSON object."), what=_WHAT)
    _check_identity(url, document)
    claims = DocumentMetadata(document, {}, {}, None, private_use=private_use)
    try:
        claims.validate()
    except (OAuth2Error, JoseError) as error:
        # The rule broken, as registration says it to developers (in English, naming fields).
        raise FetchError(
            N_("The application's metadata document is invalid: %(rule)s"),
            rule=error.description or error.error,
        ) from None
    return client_columns(claims.get_registered_claims())


def _check_identity(url: str, document: dict[str, Any]) -> None:
    """The document names itself, has a name, and holds no secret (sections 4.1 and 8.4)."""
    if document.pop("client_id", None) != url:
        raise FetchError(
            N_("The application's metadata document does not name itself as its client_id.")
        )
    name = document.get("client_name")
    if not isinstance(name, str) or not name.strip():
        raise FetchError(N_("The application's metadata document has no client_name."))
    if "client_secret" in document or "client_secret_expires_at" in document:
        raise FetchError(N_("The application's metadata document contains a secret."))


class MetadataDocuments:
    """Resolves metadata document clients into stored Client rows, fetching when stale."""

    def __init__(self, context: Services, fetcher: Fetcher) -> None:
        self._context = context
        self._fetcher = fetcher

    async def client(self, url: str, ip: str | None) -> Client:
        """The client named by ``url``, its document fetched again once the cached copy is
        stale. A blocked client is returned as stored, without fetching. Any step's refusal
        (policy, URL, fetch, document) is a FetchError: what the authorization endpoint
        catches."""
        self._check_policy(url)
        store, now = self._context.store, self._context.clock()
        row = await run_in_threadpool(store.client, url)
        if row is not None and (row.blocked or (row.metadata_expires_at or 0) > now):
            return row
        body, cache_control = await self._fetcher.json(
            url, what=_WHAT, max_bytes=MAX_DOCUMENT_BYTES
        )
        fresh = Client(
            client_id=url,
            kind=KIND,
            created_at=now,
            metadata_expires_at=now + cache_seconds(cache_control),
            **document_columns(url, body, self._context.settings.private_use_schemes),
        )
        if await run_in_threadpool(store.save_metadata_client, fresh, now):
            self._context.audit.record(
                "client.registered", client_id=url, ip=ip, client_name=fresh.client_name, kind=KIND
            )
        saved = await run_in_threadpool(store.client, url)
        assert saved is not None
        return saved

    def _check_policy(self, url: str) -> None:
        """This server takes documents at all, the URL is well-formed, and its host allowed."""
        settings = self._context.settings
        if not settings.metadata_documents_enabled:
            raise FetchError(
                N_("This server does not accept applications that name themselves by a URL.")
            )
        problem = url_problem(url)
        if problem is not None:
            raise problem
        host = urlsplit(url).hostname or ""
        if settings.metadata_document_hosts and host not in settings.metadata_document_hosts:
            raise FetchError(
                N_("Applications from %(host)s are not allowed by this hospital's administrator."),
                host=host,
            )

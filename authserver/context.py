"""The application context: built once per app, held in lifespan state, read by one accessor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import httpx
from starlette.requests import HTTPConnection
from starlette.templating import Jinja2Templates

from authserver.audit import Audit
from authserver.legacy import LegacyTokens
from authserver.oauth.cimd import MetadataDocuments
from authserver.oauth.egress import Egress, Fetcher
from authserver.oauth.jwks import ClientKeys
from authserver.oauth.server import OAuthEngine
from authserver.security import Keys, Passwords
from authserver.settings import Settings
from authserver.store import Store
from authserver.throttle import LoginThrottle, RegistrationThrottle
from shared.metrics import Metrics


@dataclass(frozen=True)
class Context:
    """Everything a request handler may use. It satisfies ``oauth.services.Services``, so the
    engine and the metadata documents are built from it; create_app builds both at once."""

    settings: Settings
    store: Store
    keys: Keys
    clock: Callable[[], int]
    metrics: Metrics
    audit: Audit
    templates: Jinja2Templates
    throttle: LoginThrottle
    registrations: RegistrationThrottle
    egress: Egress
    legacy: LegacyTokens
    passwords: Passwords

    @cached_property
    def fetcher(self) -> Fetcher:
        """The one client for other sites' documents: metadata documents and client keys."""
        return Fetcher(self.egress, allow_private=self.settings.metadata_documents_allow_private)

    @cached_property
    def resource_servers(self) -> httpx.AsyncClient:
        """The one pooled client for this server's own MCP server (the account page's access
        log, authserver.data_access): a private address it is configured with, so not the
        egress's public-only fetcher."""
        return httpx.AsyncClient(timeout=httpx.Timeout(5.0))

    @cached_property
    def engine(self) -> OAuthEngine:
        return OAuthEngine(self, ClientKeys(self.clock, self.fetcher))

    @cached_property
    def documents(self) -> MetadataDocuments:
        return MetadataDocuments(self, self.fetcher)


def get_context(connection: HTTPConnection) -> Context:
    context: Context = connection.state.context
    return context

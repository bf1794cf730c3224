"""The application context: built once per app, held in lifespan state, read through one accessor."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import HTTPConnection
from starlette.templating import Jinja2Templates

from authserver.interactions.throttle import LoginThrottle
from authserver.oauth.cimd import MetadataDocuments
from authserver.oauth.context import OAuthContext
from authserver.oauth.server import OAuthEngine


@dataclass(frozen=True)
class AppContext:
    oauth: OAuthContext
    engine: OAuthEngine
    templates: Jinja2Templates
    documents: MetadataDocuments
    throttle: LoginThrottle


def get_context(connection: HTTPConnection) -> AppContext:
    context: AppContext = connection.state.context
    return context

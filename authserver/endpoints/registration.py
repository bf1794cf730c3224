"""Dynamic client registration (RFC 7591) and client configuration (RFC 7592)."""

from starlette.requests import Request
from starlette.responses import Response

from authserver.context import get_context
from authserver.endpoints import run_oauth


async def register(request: Request) -> Response:
    return await run_oauth(request, get_context(request).engine.register)


async def configure(request: Request) -> Response:
    return await run_oauth(request, get_context(request).engine.configure_client)

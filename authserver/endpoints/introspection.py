"""Token introspection (RFC 7662) for authenticated resource servers."""

from starlette.requests import Request
from starlette.responses import Response

from authserver.context import get_context
from authserver.endpoints import run_oauth


async def introspect(request: Request) -> Response:
    return await run_oauth(request, get_context(request).engine.introspect)

"""Token revocation (RFC 7009) by the client the token was issued to."""

from starlette.requests import Request
from starlette.responses import Response

from authserver.context import get_context
from authserver.endpoints import run_oauth


async def revoke(request: Request) -> Response:
    return await run_oauth(request, get_context(request).engine.revoke)

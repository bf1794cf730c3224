"""The token endpoint (OAuth 2.1 section 3.2): authorization_code and refresh_token grants."""

from starlette.requests import Request
from starlette.responses import Response

from authserver.context import get_context
from authserver.endpoints import run_oauth


async def token(request: Request) -> Response:
    return await run_oauth(request, get_context(request).engine.token)

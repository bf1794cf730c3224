"""One module per protocol endpoint; each reads the request once and runs the engine in the
thread pool (Authlib and the store are synchronous)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from authserver.context import get_context
from authserver.oauth.bridge import HttpRequest, OAuthResponse, read_request, to_response


async def run_oauth(request: Request, operation: Callable[[HttpRequest], OAuthResponse]) -> Response:
    http = await read_request(request, get_context(request).oauth.settings.issuer)
    return to_response(await run_in_threadpool(operation, http))

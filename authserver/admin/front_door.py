"""The front door (GET /): what HospiAI Connect is, where to log in, and where each page is."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from authserver.context import get_context
from authserver.web.pages import render
from authserver.web.session import current_session


async def front_door(request: Request) -> Response:
    context = get_context(request)
    session = await run_in_threadpool(current_session, context, request)
    return render(
        request,
        "front_door.html",
        account=session.account if session is not None else None,
        # What a person pastes into an assistant: the MCP server's URL.
        connector_url=context.settings.default_resource,
    )

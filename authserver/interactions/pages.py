"""Rendering pages: every page gets the CSRF token; errors are pages that never redirect."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from authserver.context import get_context
from authserver.interactions.browser import csrf_token


def render(request: Request, template: str, status_code: int = 200, **values: Any) -> Response:
    context = get_context(request)
    return context.templates.TemplateResponse(
        request,
        template,
        {"csrf_token": csrf_token(context, request), **values},
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


def error_page(request: Request, title: str, message: str, status_code: int = 400) -> Response:
    return render(request, "error.html", status_code, title=title, message=message)

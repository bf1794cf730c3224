"""What the server refuses at its edge, before any route reads the request: a NUL character in
the path or the query. It is valid in no URL parameter, and PostgreSQL refuses it in text."""

from __future__ import annotations

from collections.abc import Collection

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from authserver.messages import _
from authserver.oauth.bridge import NUL_DESCRIPTION, MalformedRequest, malformed_response
from authserver.web.pages import PageError, show_page_error
from authserver.web.paths import under


def _in_address(scope: Scope) -> bool:
    """The decoded path, or the query (raw or percent-encoded), holds a NUL."""
    query: bytes = scope.get("query_string", b"")
    return "\x00" in scope["path"] or b"\x00" in query or b"%00" in query


class RefuseNul:
    """Each route's own error shape: an OAuth error on the OAuth JSON endpoints
    (``oauth_paths`` and what lies under them), the error page everywhere else (a page never
    redirects, so never to an unverified redirect URI)."""

    def __init__(self, app: ASGIApp, oauth_paths: Collection[str]) -> None:
        self.app = app
        self.oauth_paths = tuple(oauth_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _in_address(scope):
            await self.app(scope, receive, send)
            return
        response = await self._refusal(Request(scope, receive))
        await response(scope, receive, send)

    async def _refusal(self, request: Request) -> Response:
        path = request.url.path
        if under(path, self.oauth_paths):
            return malformed_response(MalformedRequest(NUL_DESCRIPTION))
        refused = PageError(
            _("This address cannot be read"), _("It contains a character not allowed.")
        )
        return await show_page_error(request, refused)

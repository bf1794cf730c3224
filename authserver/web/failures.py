"""An unexpected failure while serving a person's page (a database gone, a bug): the detail goes
to the log, the person gets the error page in their language. Starlette's handler of last
resort runs outside every middleware, so its answer has neither the person's language nor the
security headers: this one runs inside them. The protocol's paths keep that handler's OAuth
``server_error``."""

from __future__ import annotations

import logging
from collections.abc import Collection

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authserver.messages import _
from authserver.web.pages import error_page
from authserver.web.paths import under

log = logging.getLogger("authserver")


class PageFailures:
    def __init__(self, app: ASGIApp, oauth_paths: Collection[str]) -> None:
        self.app = app
        self.oauth_paths = tuple(oauth_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or under(scope["path"], self.oauth_paths):
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception:
            if started:  # too late for a page: the last-resort handler ends the response
                raise
            # The log redacts secrets; the page says nothing of the cause.
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            response = error_page(
                Request(scope), _("Something went wrong"),
                _("HospiAI could not finish this. Try again in a few minutes."), 500,
            )
            await response(scope, receive, send)

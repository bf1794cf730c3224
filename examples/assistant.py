"""A command-line stand-in for an AI assistant: the official MCP Python SDK client connects to
the MCP server the way Claude or Le Chat would (discovery, registration, your browser for the
HospiAI login and consent, PKCE, a token for that server only), then calls the tools.

    .venv/bin/python examples/assistant.py                         # book a visit in Lyon
    .venv/bin/python examples/assistant.py list_my_appointments    # or call one tool
    .venv/bin/python examples/assistant.py search_hospitals '{"city": "Nantes"}'

It keeps nothing: every run registers again and opens the browser (where your HospiAI session,
if any, skips the password). README "Try it from the command line" walks through it."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import sys
import webbrowser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
from mcp import ClientSession
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from pydantic import AnyUrl

CLOSE_TAB = ("<!doctype html><meta charset=utf-8><title>HospiAI</title>"
             "<p>Done: go back to the terminal.<p lang=fr>C'est fait : revenez au terminal.")


class MemoryStorage:
    """The SDK's token storage, for this run only (tests/e2e/client.py uses it too)."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


class Callback:
    """The loopback redirect URI (RFC 8252: any port on 127.0.0.1) where the browser brings
    the authorization code back; ``redirect_uri`` is known once ``start`` has bound the port."""

    def __init__(self) -> None:
        self.redirect_uri = ""
        self._answer: asyncio.Future[dict[str, str]] | None = None

    async def start(self) -> asyncio.Server:
        self._answer = asyncio.get_running_loop().create_future()
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.redirect_uri = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/callback"
        return server

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request_line = (await reader.readline()).decode("latin-1").split(" ")
        query = parse_qs(urlsplit(request_line[1]).query) if len(request_line) > 1 else {}
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                     b"Connection: close\r\n\r\n" + CLOSE_TAB.encode())
        await writer.drain()
        writer.close()
        if self._answer is not None and not self._answer.done() and query:
            self._answer.set_result({name: values[0] for name, values in query.items()})

    async def open_browser(self, url: str) -> None:
        print(f"Sign in to HospiAI in your browser. If none opens, open:\n  {url}", flush=True)
        if _desktop():
            webbrowser.open(url)

    async def code(self) -> AuthorizationCodeResult:
        assert self._answer is not None
        answer = await self._answer
        if "code" not in answer:  # Deny, or an error the authorization server explains
            sys.exit(f"Not connected: {answer.get('error_description') or answer.get('error')}")
        return AuthorizationCodeResult(code=answer["code"], state=answer.get("state"),
                                       iss=answer.get("iss"))


def _desktop() -> bool:
    """Whether to open a browser: not on Linux without a desktop, where webbrowser would start
    a text browser in this terminal (unless BROWSER names the one to run)."""
    return not sys.platform.startswith("linux") or any(
        name in os.environ for name in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY"))


async def call(session: ClientSession, tool: str, arguments: dict[str, Any]) -> Any:
    """Call one tool as an assistant would, printing the call and its answer."""
    print(f"\n> {tool} {json.dumps(arguments, ensure_ascii=False)}", flush=True)
    result = await session.call_tool(tool, arguments)
    if result.is_error:
        sys.exit(f"{tool} refused: {' '.join(getattr(c, 'text', '') for c in result.content)}")
    print(json.dumps(result.structured_content, indent=2, ensure_ascii=False), flush=True)
    return result.structured_content


async def book_a_visit(session: ClientSession, city: str) -> None:
    """What an assistant does for "book me a visit in Lyon next week": hospital, free slot,
    booking, and the list of your appointments."""
    found = await call(session, "search_hospitals", {"city": city, "limit": 1})
    if not found["hospitals"]:
        sys.exit(f"No hospital in {city}.")
    today = datetime.date.today()
    slots = await call(session, "find_available_slots", {
        "hospital_id": found["hospitals"][0]["id"], "date_from": today.isoformat(),
        "date_to": (today + datetime.timedelta(days=14)).isoformat(), "limit": 1,
    })
    if not slots["slots"]:
        sys.exit("No free slot in the next two weeks.")
    await call(session, "book_appointment",
               {"slot_id": slots["slots"][0]["slot_id"], "reason": "Check-up"})
    await call(session, "list_my_appointments", {})


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://localhost:8000/mcp", help="the connector URL")
    parser.add_argument("--city", default="Lyon", help="where to book (without a tool)")
    parser.add_argument("tool", nargs="?", help="call this tool instead of booking")
    parser.add_argument("arguments", nargs="?", default="{}", help="its arguments, as JSON")
    args = parser.parse_args()
    callback = Callback()
    server = await callback.start()
    provider = OAuthClientProvider(
        args.url,
        OAuthClientMetadata(client_name="HospiAI example assistant",
                            redirect_uris=[AnyUrl(callback.redirect_uri)]),
        MemoryStorage(), redirect_handler=callback.open_browser, callback_handler=callback.code,
    )
    async with (
        server,
        httpx2.AsyncClient(auth=provider, timeout=httpx2.Timeout(30, read=300)) as http,
        streamable_http_client(args.url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        tools = [tool.name for tool in (await session.list_tools()).tools]
        print(f"Connected. Tools: {', '.join(tools)}", flush=True)
        if args.tool:
            await call(session, args.tool, json.loads(args.arguments))
        else:
            await book_a_visit(session, args.city)


if __name__ == "__main__":
    asyncio.run(main())

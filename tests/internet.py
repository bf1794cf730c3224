"""A stand-in for the internet on loopback: one HTTPS server with a throwaway CA's certificate
for every stand-in host, serving whatever documents a test publishes, and name resolution that
sends those hosts to it. The authorization server reaches it through an ``Egress``."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import trustme
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from authserver.oauth.egress import FETCH_SECONDS, Egress
from tests.servers import bind_loopback, serve

HOSTS = ("claude.ai", "assistant.example", "tools.example", "chatgpt.com", "opencode.ai")
CLAUDE_CODE_METADATA = "https://claude.ai/oauth/claude-code-client-metadata"
# The document Claude Code publishes: port-less loopback URIs, while it listens on a random
# port (RFC 8252 section 7.3).
CLAUDE_CODE_DOCUMENT: dict[str, object] = {
    "client_id": CLAUDE_CODE_METADATA,
    "client_name": "Claude Code",
    "client_uri": "https://claude.ai",
    "redirect_uris": ["http://localhost/callback", "http://127.0.0.1/callback"],
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "token_endpoint_auth_method": "none",
}
# Claude's hosted connector, by its metadata document: public, answered at https callbacks.
CLAUDE_METADATA = "https://claude.ai/oauth/mcp-oauth-client-metadata"
CLAUDE_CALLBACKS = [
    "https://claude.ai/api/mcp/auth_callback",
    "https://claude.com/api/mcp/auth_callback",
]
CLAUDE_DOCUMENT: dict[str, object] = {
    **CLAUDE_CODE_DOCUMENT,
    "client_id": CLAUDE_METADATA,
    "client_name": "Claude",
    "redirect_uris": CLAUDE_CALLBACKS,
}


@dataclass
class Page:
    body: bytes
    status: int = 200
    # Seconds before answering (a slow site).
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": "application/json"})


@dataclass
class Internet:
    port: int
    ca: trustme.CA
    pages: dict[tuple[str, str], Page] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    # Where each stand-in host resolves; a test may point one elsewhere (the SSRF guard).
    addresses: dict[str, list[tuple[str, int]]] = field(default_factory=dict)

    def publish(self, url: str, document: object, **page: object) -> None:
        parts = urlsplit(url)
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        self.pages[(parts.netloc, parts.path)] = Page(body, **page)  # type: ignore[arg-type]

    def fetches(self, url: str) -> int:
        parts = urlsplit(url)
        return self.requests.count(f"{parts.netloc}{parts.path}")

    async def resolve(self, host: str, port: int) -> list[tuple[str, int]]:
        return self.addresses.get(host, [])

    def egress(self, timeout: float = FETCH_SECONDS) -> Egress:
        verify = ssl.create_default_context()
        self.ca.configure_trust(verify)
        return Egress(resolve=self.resolve, verify=verify, timeout=timeout)

    async def _page(self, request: Request) -> Response:
        host, path = request.headers.get("host", ""), request.url.path
        self.requests.append(f"{host}{path}")
        page = self.pages.get((host, path))
        if page is None:
            return Response("not found", 404)
        await asyncio.sleep(page.delay)
        return Response(page.body, page.status, headers=page.headers)


def client_document(url: str, redirect_uris: list[str], **metadata: object) -> dict[str, object]:
    return {
        "client_id": url,
        "client_name": "Test Assistant",
        "redirect_uris": redirect_uris,
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        **metadata,
    }


@contextmanager
def stand_in_internet(tmp_path: Path) -> Iterator[Internet]:
    ca = trustme.CA()
    certificate = ca.issue_cert(*HOSTS)
    key_and_chain = tmp_path / "stand-in.pem"
    certificate.private_key_and_cert_chain_pem.write_to_path(str(key_and_chain))
    sock = bind_loopback()
    internet = Internet(sock.getsockname()[1], ca)
    internet.addresses = {host: [("127.0.0.1", internet.port)] for host in HOSTS}
    app = Starlette(routes=[Route("/{path:path}", internet._page)])
    with serve(app, sock, ssl_certfile=str(key_and_chain), ssl_keyfile=str(key_and_chain)):
        yield internet

"""Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): a client_id that
is an https URL names a JSON document of the client's metadata. It is fetched with SSRF guards
and size and time limits, validated like a registration, and cached within bounds."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

import httpx
from authlib.oauth2.rfc6749 import OAuth2Error
from joserfc.errors import JoseError
from starlette.concurrency import run_in_threadpool

from authserver.models import Client
from authserver.oauth.registration import ClientMetadata, client_columns
from authserver.oauth.services import Services

KIND = "metadata_document"
# Section 8.7 suggests 5 KB; the whole fetch, name resolution included, has 5 seconds.
MAX_DOCUMENT_BYTES = 5 * 1024
FETCH_SECONDS = 5.0
# Cache-Control is followed within these bounds; without it the document is kept an hour.
MIN_CACHE_SECONDS = 60
MAX_CACHE_SECONDS = 24 * 3600
DEFAULT_CACHE_SECONDS = 3600

# Host and port to the addresses (with ports) to connect to, as getaddrinfo gives them.
Resolver = Callable[[str, int], Awaitable[list[tuple[str, int]]]]

# ASCII only, no percent-encoding, no whitespace or backslash, on the default https port: the
# URL is the client's identity, so it must read the same to every parser, browser and admin.
_URL = re.compile(r"https://[a-z0-9.-]+/[A-Za-z0-9._~!$&'()*+,;=:@/-]*", re.IGNORECASE)
# IPv6 prefixes that carry an IPv4 address or are deprecated local ranges: NAT64 (RFC 6052,
# RFC 8215), 6to4, Teredo, IPv4-compatible and site-local. Their IPv4 could be anything.
_TUNNELS = [ipaddress.ip_network(net) for net in (
    "64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "2001::/32", "::/96", "fec0::/10",
)]


class MetadataDocumentError(Exception):
    """The document cannot be used; the description is safe to show to the user."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


async def resolve_host(host: str, port: int) -> list[tuple[str, int]]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [(str(info[4][0]), int(info[4][1])) for info in infos]


@dataclass(frozen=True)
class Egress:
    """How the server reaches other hosts: name resolution and the TLS trust store. Tests stand
    in for the internet through these two, on loopback."""

    resolve: Resolver = resolve_host
    verify: ssl.SSLContext | bool = True


def is_metadata_url(client_id: str) -> bool:
    """Section 3: a client_id in the https scheme is a metadata document URL (or invalid)."""
    return client_id[:8].lower() == "https://"


def url_problem(url: str) -> str | None:
    """Why a client_id cannot be a metadata document URL (section 3), or None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return "The application's address is not a valid URL."
    if parts.scheme != "https" or not parts.hostname:
        return "The application's address must be an https URL with a host."
    if parts.username is not None or parts.password is not None:
        return "The application's address must not contain user information."
    return _path_problem(url, parts)


def _path_problem(url: str, parts: SplitResult) -> str | None:
    """The rest of section 3: a path without dot segments, no query or fragment, no port."""
    if "#" in url or parts.query or "?" in url:
        return "The application's address must not contain a query or a fragment."
    segments = parts.path.split("/")[1:]
    if not parts.path or parts.path == "/" or {".", ".."} & set(segments):
        return "The application's address must have a path without dot segments."
    if parts.port is not None or not _URL.fullmatch(url):
        return (
            "The application's address must be plain ASCII on the default https port, without"
            " percent-encoding."
        )
    return None


def cache_seconds(cache_control: str | None) -> int:
    """How long to keep a document: its Cache-Control max-age, within bounds (section 5.2)."""
    max_age = DEFAULT_CACHE_SECONDS
    for directive in (cache_control or "").lower().split(","):
        name, _, value = directive.strip().partition("=")
        if name in {"no-store", "no-cache"}:
            return MIN_CACHE_SECONDS
        if name == "max-age":
            try:
                max_age = int(value.strip().strip('"'))
            except ValueError:
                return MIN_CACHE_SECONDS
    return max(MIN_CACHE_SECONDS, min(MAX_CACHE_SECONDS, max_age))


def document_columns(url: str, body: bytes, private_use: frozenset[str]) -> dict[str, Any]:
    """The stored client's columns from a fetched document, validated (sections 4 and 8)."""
    try:
        document = json.loads(body)
    except ValueError:
        raise MetadataDocumentError("The application's metadata document is not JSON.") from None
    if not isinstance(document, dict):
        raise MetadataDocumentError("The application's metadata document is not a JSON object.")
    _check_identity(url, document)
    claims = ClientMetadata(document, {}, {}, None, private_use=private_use)
    try:
        claims.validate()
    except (OAuth2Error, JoseError) as error:
        raise MetadataDocumentError(
            f"The application's metadata document is invalid: {error.description or error.error}"
        ) from None
    return client_columns(claims.get_registered_claims())


def _check_identity(url: str, document: dict[str, Any]) -> None:
    """The document names itself, has a name, and holds no secret (sections 4.1 and 8.4)."""
    if document.pop("client_id", None) != url:
        raise MetadataDocumentError(
            "The application's metadata document does not name itself as its client_id."
        )
    name = document.get("client_name")
    if not isinstance(name, str) or not name.strip():
        raise MetadataDocumentError("The application's metadata document has no client_name.")
    if "client_secret" in document or "client_secret_expires_at" in document:
        raise MetadataDocumentError("The application's metadata document contains a secret.")
    # Section 8.4: a document is public, so no shared secret; private_key_jwt is not offered.
    if document.setdefault("token_endpoint_auth_method", "none") != "none":
        raise MetadataDocumentError(
            "The application's metadata document must use token_endpoint_auth_method none."
        )


def _address_allowed(address: str, allow_private: bool) -> bool:
    if allow_private:
        return True
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif any(ip in network for network in _TUNNELS):
            return False
    # is_global is False for private, loopback, link-local, shared and reserved ranges.
    return ip.is_global and not ip.is_multicast


class MetadataDocuments:
    """Resolves metadata document clients into stored Client rows, fetching when stale."""

    def __init__(self, context: Services, egress: Egress) -> None:
        self._context = context
        self._egress = egress
        # No redirects (section 5), no proxies from the environment, and no kept connections:
        # every fetch connects to the address just checked.
        self._http = httpx.AsyncClient(
            verify=egress.verify,
            timeout=FETCH_SECONDS,
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def client(self, url: str, ip: str | None) -> Client:
        """The client named by ``url``, its document fetched again once the cached copy is
        stale. A blocked client is returned as stored, without fetching."""
        self._check_policy(url)
        store, now = self._context.store, self._context.clock()
        row = await run_in_threadpool(store.client, url)
        if row is not None and (row.blocked or (row.metadata_expires_at or 0) > now):
            return row
        try:
            async with asyncio.timeout(FETCH_SECONDS):
                body, cache_control = await self._fetch(url)
        except TimeoutError:
            raise MetadataDocumentError(
                "The application's metadata document took too long to fetch."
            ) from None
        fresh = Client(
            client_id=url,
            kind=KIND,
            created_at=now,
            metadata_expires_at=now + cache_seconds(cache_control),
            **document_columns(url, body, self._context.settings.private_use_schemes),
        )
        if await run_in_threadpool(store.save_metadata_client, fresh, now):
            self._context.audit.record(
                "client.registered", client_id=url, ip=ip, client_name=fresh.client_name, kind=KIND
            )
        saved = await run_in_threadpool(store.client, url)
        assert saved is not None
        return saved

    def _check_policy(self, url: str) -> None:
        """This server takes documents at all, the URL is well-formed, and its host allowed."""
        settings = self._context.settings
        if not settings.metadata_documents_enabled:
            raise MetadataDocumentError(
                "This server does not accept applications that name themselves by a URL."
            )
        problem = url_problem(url)
        if problem is not None:
            raise MetadataDocumentError(problem)
        host = urlsplit(url).hostname
        if settings.metadata_document_hosts and host not in settings.metadata_document_hosts:
            raise MetadataDocumentError(
                f"Applications from {host} are not allowed by this hospital's administrator."
            )

    async def _fetch(self, url: str) -> tuple[bytes, str | None]:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port or 443
        try:
            addresses = await self._egress.resolve(host, port)
        except OSError:
            addresses = []
        if not addresses:
            raise MetadataDocumentError(f"The application's host {host} could not be found.")
        allow_private = self._context.settings.metadata_documents_allow_private
        if not all(_address_allowed(address, allow_private) for address, _ in addresses):
            raise MetadataDocumentError(
                f"The application's host {host} has a private or reserved address."
            )
        # Connect to the address that was checked (no second lookup an attacker could change),
        # while TLS still verifies the certificate for the host name.
        address, address_port = addresses[0]
        pinned = f"[{address}]" if ":" in address else address
        request = self._http.build_request(
            "GET",
            urlunsplit(("https", f"{pinned}:{address_port}", parts.path, "", "")),
            # Uncompressed only: the size cap counts the bytes that arrive.
            headers={"Host": host, "Accept": "application/json", "Accept-Encoding": "identity"},
            extensions={"sni_hostname": host},
        )
        try:
            response = await self._http.send(request, stream=True)
        except httpx.HTTPError:
            raise MetadataDocumentError(
                f"The application's metadata document could not be fetched from {host}."
            ) from None
        try:
            return await _read(response), response.headers.get("cache-control")
        finally:
            await response.aclose()


async def _read(response: httpx.Response) -> bytes:
    if response.status_code != 200:
        raise MetadataDocumentError(
            f"The application's metadata document answered HTTP {response.status_code}."
        )
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise MetadataDocumentError("The application's metadata document is not JSON.")
    if response.headers.get("content-encoding", "identity").strip().lower() != "identity":
        raise MetadataDocumentError("The application's metadata document is compressed.")
    body = b""
    try:
        async for chunk in response.aiter_raw():
            body += chunk
            if len(body) > MAX_DOCUMENT_BYTES:
                raise MetadataDocumentError(
                    "The application's metadata document is larger than 5 KB."
                )
    except httpx.HTTPError:
        raise MetadataDocumentError(
            "The application's metadata document could not be read."
        ) from None
    return body

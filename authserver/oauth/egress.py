"""Reaching other sites for their documents (client metadata documents, client key sets): https
URLs that read the same to every parser, SSRF guards on the resolved addresses, size and time
limits, no redirects, and Cache-Control followed within bounds."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import json
import re
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import SplitResult, urlsplit, urlunsplit

import httpx

from authserver.oauth.bridge import has_nul
from shared.i18n import MarkedError
from shared.i18n import mark as N_

# The whole fetch, name resolution included, has 5 seconds.
FETCH_SECONDS = 5.0
# Cache-Control is followed within these bounds; without it a document is kept an hour.
MIN_CACHE_SECONDS = 60
MAX_CACHE_SECONDS = 24 * 3600
DEFAULT_CACHE_SECONDS = 3600

# Host and port to the addresses (with ports) to connect to, as getaddrinfo gives them.
Resolver = Callable[[str, int], Awaitable[list[tuple[str, int]]]]

# ASCII only, no percent-encoding, no whitespace or backslash, on the default https port: a URL
# that names a client (or its keys) must read the same to every parser, browser and admin.
_URL = re.compile(r"https://[a-z0-9.-]+/[A-Za-z0-9._~!$&'()*+,;=:@/-]*", re.IGNORECASE)
# IPv6 prefixes that carry an IPv4 address or are deprecated local ranges: NAT64 (RFC 6052,
# RFC 8215), 6to4, Teredo, IPv4-compatible and site-local. Their IPv4 could be anything.
_TUNNELS = [ipaddress.ip_network(net) for net in (
    "64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "2001::/32", "::/96", "fec0::/10",
)]


class FetchError(MarkedError):
    """The document cannot be fetched or used, for a reason safe to show to the user: in
    English as ``description``, for an OAuth error's ``error_description`` (developers read
    it); a page says it in the user's language (``reason``), the document named in it too."""

    @property
    def description(self) -> str:
        return str(self)


async def resolve_host(host: str, port: int) -> list[tuple[str, int]]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [(str(info[4][0]), int(info[4][1])) for info in infos]


@functools.cache
def public_trust() -> ssl.SSLContext:
    """The public CAs (certifi's, as httpx trusts by default), read once per process: parsing
    them costs 40-60 ms of CPU, which every app built (each test, each replica) paid again."""
    return httpx.create_ssl_context(trust_env=False)


@dataclass(frozen=True)
class Egress:
    """How the server reaches other hosts: name resolution, the TLS trust store and the time a
    whole fetch may take. Tests stand in for the internet through these, on loopback."""

    resolve: Resolver = resolve_host
    verify: ssl.SSLContext = field(default_factory=public_trust)
    timeout: float = FETCH_SECONDS


class Fetched(NamedTuple):
    body: bytes
    cache_control: str | None


def url_problem(url: str, what: str = N_("The application's address")) -> FetchError | None:
    """Why ``url`` cannot be fetched as a client's document (CIMD section 3), or None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return FetchError(N_("%(what)s is not a valid URL."), what=what)
    if parts.scheme != "https" or not parts.hostname:
        return FetchError(N_("%(what)s must be an https URL with a host."), what=what)
    if parts.username is not None or parts.password is not None:
        return FetchError(N_("%(what)s must not contain user information."), what=what)
    return _path_problem(url, parts, what)


def _path_problem(url: str, parts: SplitResult, what: str) -> FetchError | None:
    """The rest of section 3: a path without dot segments, no query or fragment, no port."""
    if "#" in url or parts.query or "?" in url:
        return FetchError(N_("%(what)s must not contain a query or a fragment."), what=what)
    segments = parts.path.split("/")[1:]
    if not parts.path or parts.path == "/" or {".", ".."} & set(segments):
        return FetchError(N_("%(what)s must have a path without dot segments."), what=what)
    if parts.port is not None or not _URL.fullmatch(url):
        return FetchError(N_(
            "%(what)s must be plain ASCII on the default https port, without percent-encoding."
        ), what=what)
    return None


def cache_seconds(cache_control: str | None) -> int:
    """How long to keep a document: its Cache-Control max-age, within bounds (CIMD 5.2)."""
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


def parse_json(body: bytes, what: str) -> object:
    """A fetched document's JSON: FetchError when it is not JSON, nests deeper than the parser
    goes (RecursionError), or holds a NUL (PostgreSQL refuses it in text; valid in no metadata)."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise FetchError(N_("%(what)s is not JSON."), what=what) from None
    if has_nul(body):
        raise FetchError(N_("%(what)s contains a NUL character."), what=what)
    return document


def address_allowed(address: str, allow_private: bool) -> bool:
    """Whether a fetch may connect to ``address``: public unicast only, unless told."""
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


class Fetcher:
    """GETs JSON documents from other sites, each checked by ``url_problem`` beforehand."""

    def __init__(self, egress: Egress, *, allow_private: bool) -> None:
        self._egress = egress
        self._allow_private = allow_private
        # No redirects (CIMD section 5), no proxies from the environment, and no kept
        # connections: every fetch connects to the address just checked.
        self._http = httpx.AsyncClient(
            verify=egress.verify,
            timeout=egress.timeout,
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def json(self, url: str, *, what: str, max_bytes: int) -> Fetched:
        """The body and Cache-Control of ``url``, named ``what`` in every FetchError."""
        try:
            async with asyncio.timeout(self._egress.timeout):
                return await self._fetch(url, what, max_bytes)
        except TimeoutError:
            raise FetchError(N_("%(what)s took too long to fetch."), what=what) from None

    async def _fetch(self, url: str, what: str, max_bytes: int) -> Fetched:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port or 443
        try:
            addresses = await self._egress.resolve(host, port)
        except OSError:
            addresses = []
        if not addresses:
            raise FetchError(N_("The application's host %(host)s could not be found."), host=host)
        if not all(address_allowed(address, self._allow_private) for address, _ in addresses):
            raise FetchError(
                N_("The application's host %(host)s has a private or reserved address."), host=host
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
            raise FetchError(
                N_("%(what)s could not be fetched from %(host)s."), what=what, host=host
            ) from None
        try:
            body = await _read(response, what, max_bytes)
            return Fetched(body, response.headers.get("cache-control"))
        finally:
            await response.aclose()


async def _read(response: httpx.Response, what: str, max_bytes: int) -> bytes:
    if response.status_code != 200:
        raise FetchError(
            N_("%(what)s answered HTTP %(status)s."), what=what, status=str(response.status_code)
        )
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise FetchError(N_("%(what)s is not JSON."), what=what)
    if response.headers.get("content-encoding", "identity").strip().lower() != "identity":
        raise FetchError(N_("%(what)s is compressed."), what=what)
    body = b""
    try:
        async for chunk in response.aiter_raw():
            body += chunk
            if len(body) > max_bytes:
                raise FetchError(
                    N_("%(what)s is larger than %(size)s KB."), what=what,
                    size=str(max_bytes // 1024),
                )
    except httpx.HTTPError:
        raise FetchError(N_("%(what)s could not be read."), what=what) from None
    return body

"""The Starlette <-> Authlib bridge: read a request once, hand Authlib a plain copy, answer."""

from __future__ import annotations

import base64
import binascii
import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, unquote

from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.requests import JsonRequest, OAuth2Payload
from pydantic_core import to_json
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from shared import http
from shared.http import NO_STORE

MAX_BODY_BYTES = 64 * 1024
NUL_DESCRIPTION = "The request contains a NUL character."
_NO_PATH_PARAMS: Mapping[str, str] = MappingProxyType({})


class MalformedRequest(Exception):
    """A request no endpoint can read; answered as an OAuth error without reaching Authlib."""

    def __init__(self, description: str, error: str = "invalid_request", status: int = 400):
        super().__init__(description)
        self.description = description
        self.error = error
        self.status = status


def malformed_response(error: MalformedRequest) -> JSONResponse:
    return JSONResponse(
        {"error": error.error, "error_description": error.description},
        error.status,
        headers=NO_STORE,
    )


class HttpRequest(NamedTuple):
    """Everything an OAuth endpoint needs from the HTTP request, read once on the event loop.
    A named tuple: as immutable as a frozen dataclass, built in half the time (every OAuth
    call builds one, introspection included)."""

    method: str
    # The public URL (issuer + path + query), as the client addressed it.
    url: str
    headers: Mapping[str, str]
    query: Sequence[tuple[str, str]] = ()
    form: Sequence[tuple[str, str]] = ()
    json: object = None
    path_params: Mapping[str, str] = _NO_PATH_PARAMS
    # Basic credentials (id, secret), already checked to be well formed.
    basic: tuple[str, str] | None = None
    # The caller's address (behind a proxy, as uvicorn's --forwarded-allow-ips resolves it).
    client_ip: str | None = None


class OAuthResponse(NamedTuple):
    """An endpoint's answer. A named tuple, as HttpRequest is: every OAuth call builds one."""

    status: int
    body: dict[str, Any] | str
    headers: list[tuple[str, str]]
    # Bookkeeping to run in the thread pool once the answer is sent (never on the event loop).
    after: Callable[[], None] | None = None

    @property
    def location(self) -> str | None:
        return next((value for name, value in self.headers if name.lower() == "location"), None)


async def read_body(receive: Receive) -> bytes:
    body = await http.read_body(receive, MAX_BODY_BYTES)
    if body is None:
        raise MalformedRequest("The request body is too large.")
    return body


def parse_request(scope: Scope, body: bytes, issuer: str) -> HttpRequest:
    """Straight from the ASGI scope: this runs on every OAuth call, introspection included."""
    content_type, authorization = _two_headers(scope["headers"])
    content_type = content_type.split(";")[0].strip().lower()
    query = scope["query_string"].decode("latin-1")
    query_items, form, parsed_json = _parse_parameters(query, content_type, body)
    return HttpRequest(
        method=scope["method"],
        url=issuer + scope["path"] + (f"?{query}" if query else ""),
        headers=Headers(scope=scope),
        query=query_items,
        form=form,
        json=parsed_json,
        path_params=(
            {key: str(value) for key, value in path_params.items()}
            if (path_params := scope.get("path_params"))
            else _NO_PATH_PARAMS
        ),
        basic=_basic_credentials(authorization),
        client_ip=(scope.get("client") or (None,))[0],
    )


def _two_headers(raw: Sequence[tuple[bytes, bytes]]) -> tuple[str, str | None]:
    """Content-Type ("" without one) and Authorization, each its first value, in one pass over
    the raw headers (lowercased by the server, as Starlette's Headers expects too), where each
    Headers lookup lowercased and encoded its name and scanned the list again."""
    content_type: str | None = None
    authorization: str | None = None
    for name, value in raw:
        if name == b"content-type" and content_type is None:
            content_type = value.decode("latin-1")
        elif name == b"authorization" and authorization is None:
            authorization = value.decode("latin-1")
    return content_type or "", authorization


def _parse_parameters(
    query: str, content_type: str, body: bytes
) -> tuple[list[tuple[str, str]], list[tuple[str, str]], object]:
    """The query, the form and the JSON body; MalformedRequest for what cannot be read."""
    form: list[tuple[str, str]] = []
    parsed_json: object = None
    try:
        query_items = parse_qsl(query, keep_blank_values=True, max_num_fields=64) if query else []
        if content_type == "application/x-www-form-urlencoded":
            form = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=64)
        elif content_type == "application/json" and body:
            parsed_json = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise MalformedRequest("The request could not be parsed.") from None
    # NUL is valid in no OAuth parameter, and PostgreSQL refuses it in text columns (the path
    # and the query were checked at the edge, web.edge).
    # A form's only spelling of NUL, once decoded, is %00 (letters are not involved).
    if has_nul(body) or (form and b"%00" in body):
        raise MalformedRequest(NUL_DESCRIPTION)
    return query_items, form, parsed_json


def has_nul(body: bytes) -> bool:
    """A body (a form, a JSON text) holds a NUL, raw or JSON-escaped (``\\u0000``). A JSON text
    that only quotes the escape (``\\\\u0000``) is refused too, which no client needs."""
    return b"\x00" in body or b"\\u0000" in body


async def read_request(request: Request, issuer: str) -> HttpRequest:
    body = await read_body(request.receive) if request.method in {"POST", "PUT"} else b""
    return parse_request(request.scope, body, issuer)


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """Basic credentials (RFC 7617) as (id, secret), each form-decoded (RFC 6749 section
    2.3.1, decoded as Authlib does); None without them. Malformed ones refuse the caller."""
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        caller, colon, secret = (
            base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
        )
    except (binascii.Error, UnicodeDecodeError, ValueError):
        caller, colon, secret = "", "", ""
    if not colon:
        raise MalformedRequest(
            "The Basic credentials are malformed.", error="invalid_client", status=401
        )
    return unquote(caller), unquote(secret)


_NO_STORE = [(name.lower().encode(), value.encode()) for name, value in NO_STORE.items()]
_JSON = [(b"content-type", b"application/json"), *_NO_STORE]
_OWN = {"content-type", "cache-control", "pragma"}


async def send_response(response: OAuthResponse, send: Send) -> None:
    """An OAuth response, JSON or empty; never cached (RFC 6749 section 5.1)."""
    if isinstance(response.body, dict):
        # pydantic-core's encoder: a 12-claim introspection answer in 1.7 us, against 12 us
        # for json.dumps (issue 14); compact, like the separators json.dumps was given.
        body, headers = to_json(response.body), _JSON
    else:
        body, headers = response.body.encode(), _NO_STORE
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    if response.headers:
        headers += [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in response.headers
            if name.lower() not in _OWN
        ]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _Payload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in pairs:
            self._datalist[key].append(value)
        self._data = {key: values[0] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class BridgeRequest(OAuth2Request):  # type: ignore[misc]
    """Authlib's view of a form or query request. Parameters come from the query on GET and
    from the body on POST, never both (OAuth 2.1 section 3.2: token parameters go in the body)."""

    def __init__(self, http: HttpRequest) -> None:
        super().__init__(http.method, http.url, headers=http.headers)
        self.http = http
        pairs = http.query if http.method == "GET" else http.form
        self.payload = _Payload(pairs)
        self._args = _Payload(http.query).data
        # The RFC 8707 resource this request was validated for.
        self.resource: str | None = None

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        data: dict[str, str] = self.payload.data
        return data


class _JsonPayload:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data


class BridgeJsonRequest(JsonRequest):  # type: ignore[misc]
    def __init__(self, http: HttpRequest) -> None:
        super().__init__(http.method, http.url, headers=http.headers)
        self.http = http
        self.payload = _JsonPayload(http.json if isinstance(http.json, dict) else {})

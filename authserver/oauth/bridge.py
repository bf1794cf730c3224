"""The Starlette <-> Authlib bridge: read a request once, hand Authlib a plain copy, answer."""

from __future__ import annotations

import base64
import binascii
import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.requests import JsonRequest, OAuth2Payload
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

MAX_BODY_BYTES = 64 * 1024
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class MalformedRequest(Exception):
    """A request no endpoint can read; answered as an OAuth error without reaching Authlib."""

    def __init__(self, description: str, error: str = "invalid_request", status: int = 400):
        super().__init__(description)
        self.description = description
        self.error = error
        self.status = status


@dataclass(frozen=True)
class HttpRequest:
    """Everything an OAuth endpoint needs from the HTTP request, read once on the event loop."""

    method: str
    # The public URL (issuer + path + query), as the client addressed it.
    url: str
    headers: Mapping[str, str]
    query: list[tuple[str, str]] = field(default_factory=list)
    form: list[tuple[str, str]] = field(default_factory=list)
    json: object = None
    path_params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OAuthResponse:
    status: int
    body: dict[str, Any] | str
    headers: list[tuple[str, str]]

    @property
    def location(self) -> str | None:
        return next((value for name, value in self.headers if name.lower() == "location"), None)


async def read_request(request: Request, issuer: str) -> HttpRequest:
    body = b""
    if request.method in {"POST", "PUT"}:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise MalformedRequest("The request body is too large.")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    form: list[tuple[str, str]] = []
    parsed_json: object = None
    try:
        if content_type == "application/x-www-form-urlencoded":
            form = parse_qsl(
                body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=64
            )
        elif content_type == "application/json" and body:
            parsed_json = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise MalformedRequest("The request body could not be parsed.") from None
    query_items = list(request.query_params.multi_items())
    # NUL is valid in no OAuth parameter, and PostgreSQL refuses it in text columns.
    if any("\x00" in k + v for k, v in query_items + form) or b"\\u0000" in body:
        raise MalformedRequest("The request contains a NUL character.")
    _check_basic_credentials(request.headers.get("authorization"))
    query = request.url.query
    url = issuer + request.url.path + (f"?{query}" if query else "")
    return HttpRequest(
        method=request.method,
        url=url,
        headers=Headers(raw=request.headers.raw),
        query=query_items,
        form=form,
        json=parsed_json,
        path_params={key: str(value) for key, value in request.path_params.items()},
    )


def _check_basic_credentials(authorization: str | None) -> None:
    """Basic credentials must decode to UTF-8 "id:secret" (RFC 7617), or the caller is refused."""
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return
    try:
        base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise MalformedRequest(
            "The Basic credentials are malformed.", error="invalid_client", status=401
        ) from None


def to_response(response: OAuthResponse) -> Response:
    """An OAuth JSON response; never cached (RFC 6749 section 5.1)."""
    headers = {name: value for name, value in response.headers if name.lower() != "content-type"}
    headers.update(NO_STORE)
    if isinstance(response.body, dict):
        return JSONResponse(response.body, status_code=response.status, headers=headers)
    return Response(response.body or None, status_code=response.status, headers=headers)


class _Payload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, pairs: list[tuple[str, str]]) -> None:
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

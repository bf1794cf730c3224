"""A bounded property-based fuzz of every endpoint of both services (issue 13), on SQLite and
PostgreSQL: forms, JSON, raw bodies, headers, cookies, query strings and path segments, with NUL,
non-ASCII, deep nesting, repeated and huge parameters. Whatever arrives: no 5xx, no traceback in
any answer, the endpoint's own error shape, and no secret in what the servers log.

Bounded: HOSPIAI_FUZZ_EXAMPLES cases per endpoint family and backend (60 by default, a fixed
seed); `make fuzz` runs many more with a random seed."""

from __future__ import annotations

import base64
import json
import logging
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.logs import JsonFormatter
from tests.databases import BACKENDS, Databases, Templates
from tests.flow import REDIRECT_URI, csrf_token, logged_in, tokens_for
from tests.harness import PASSWORD, Stack, start_stack

# Some cases are 70 KB on purpose; Hypothesis warns when it prints one.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")
EXAMPLES = int(os.environ.get("HOSPIAI_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=os.environ.get("HOSPIAI_FUZZ_RANDOM") != "1",
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Text as attackers send it: NUL and other controls, quotes and backslashes, bidirectional and
# zero-width characters, non-BMP letters, and now and then something very long.
ODD = st.sampled_from(
    ["\x00", "\u202e", "\u200b", '"', "\\", "%", "%00", "é", "\U0001f600", "²", "①", "\r\n",
     "'", "<script>", "../", "\ud7ff", "9" * 5000, "a" * 70_000]
)
TEXT = st.one_of(
    st.text(max_size=40),
    st.lists(st.one_of(ODD, st.text(max_size=8)), max_size=4).map("".join),
)
FORM = st.lists(
    st.tuples(
        st.one_of(st.sampled_from(
            ["grant_type", "code", "token", "client_id", "client_secret", "redirect_uri",
             "code_verifier", "refresh_token", "scope", "resource", "token_type_hint",
             "client_assertion", "client_assertion_type", "email", "password", "decision",
             "csrf_token", "name", "days", "next"]
        ), TEXT),
        TEXT,
    ),
    max_size=8,
)
JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), TEXT)
JSON = st.recursive(
    JSON_LEAF,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=12,
)
DEEP = st.integers(min_value=1_000, max_value=6_000).map(lambda depth: "[" * depth + "]" * depth)
BODY = st.one_of(
    JSON.map(lambda value: json.dumps(value).encode()),
    DEEP.map(str.encode),
    st.binary(max_size=200),
)
# Header values as HTTP/1.1 carries them (visible ASCII), some huge, some Basic credentials
# that decode to anything.
HEADER = st.one_of(
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=80),
    st.binary(max_size=60).map(lambda raw: "Basic " + base64.b64encode(raw).decode()),
    st.just("Basic " + "A" * 70_000),
).filter(lambda value: value.strip() == value and value != "Basic")
SEGMENT = TEXT.map(lambda text: quote(text, safe="")[:2_000]).filter(
    lambda text: text not in {"", ".", ".."}
)


@dataclass
class World:
    stack: Stack
    client_id: str
    token: str
    secrets: list[str]
    browser: httpx.Client
    admin: httpx.Client
    log: list[str] = field(default_factory=list)
    seen: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)

    def __repr__(self) -> str:  # Hypothesis prints it with every failing case
        return f"World({self.stack.auth.url}, {self.stack.mcp_url})"


class _Captured(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__(logging.INFO)
        self.lines = lines
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
          templates: Templates) -> Iterator[World]:
    databases = Databases(str(request.param), tmp_path_factory.mktemp("fuzz"), templates)
    try:
        with start_stack(databases) as stack:
            yield from _world(stack)
    finally:
        databases.drop()


def _world(stack: Stack) -> Iterator[World]:
    patient, admin = stack.auth.account(), stack.auth.account("admin")
    client_id = stack.auth.client(public=True).id
    tokens = tokens_for(stack.auth, client_id, patient.email, resource=stack.mcp_url,
                        scope="read:data read:bookings write:bookings read:profile")
    rs = stack.auth.resource_server
    known = [tokens["access_token"], tokens["refresh_token"], rs.secret or "", PASSWORD]
    lines: list[str] = []
    handler = _Captured(lines)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        with logged_in(stack.auth, patient.email) as browser, \
                logged_in(stack.auth, admin.email, "/admin") as admin_browser:
            world = World(stack, client_id, tokens["access_token"], known, browser,
                          admin_browser, lines)
            yield world
            _report(world)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    for line in lines:
        assert json.loads(line)["level"] not in {"ERROR", "CRITICAL"}, line
        for secret in known:
            assert secret not in line, line


def _report(world: World) -> None:
    """The per-endpoint figures, for `make fuzz` (pytest -s)."""
    for name in sorted(world.seen):
        print(f"fuzz {name}: {world.seen[name]} requests, {world.errors[name]} 5xx")


def _check(world: World, name: str, response: httpx.Response, shape: str) -> None:
    world.seen[name] += 1
    if response.status_code >= 500:
        world.errors[name] += 1
    assert response.status_code < 500, (name, response.status_code, response.text[:500])
    text = response.text
    for leak in ("Traceback", 'File "', "sqlalchemy", "psycopg"):
        assert leak not in text, (name, text[:500])
    routed = response.status_code not in {404, 405} or text not in {"Not Found",
                                                                      "Method Not Allowed"}
    # The router's own 404 and 405 (a path or method no endpoint has) are plain text.
    if shape == "oauth" and response.status_code >= 400 and routed:
        assert response.headers.get("content-type", "").startswith("application/json"), (
            name, response.status_code, text[:300])
        body = response.json()
        assert isinstance(body, dict) and isinstance(body.get("error"), str), (name, text)
    if shape == "page" and response.status_code >= 400 and routed:
        assert response.headers["content-type"].startswith("text/html"), (name, text[:200])
    if shape == "page" and 300 <= response.status_code < 400:
        location = response.headers["location"]
        # Never to a place that was not verified: the server itself, or the client's own URI.
        assert location.startswith(("/", world.stack.auth.url, REDIRECT_URI + "?")), location


def _form(pairs: list[tuple[str, str]]) -> bytes:
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs).encode()


def _query(pairs: list[tuple[str, str]]) -> str:
    """As a query string, within what an HTTP client sends in a URL (httpx: 64 KB)."""
    return "?" + _form(pairs).decode()[:32_000]


FORM_HEADERS = {"content-type": "application/x-www-form-urlencoded"}


@FUZZ
@given(path=st.sampled_from(["/token", "/introspect", "/revoke"]), pairs=FORM,
       authorization=st.one_of(st.none(), HEADER),
       resource_server=st.booleans())
def test_the_oauth_form_endpoints(world: World, path: str, pairs: list[tuple[str, str]],
                                  authorization: str | None, resource_server: bool) -> None:
    headers = dict(FORM_HEADERS)
    rs = world.stack.auth.resource_server
    if authorization is not None:
        headers["authorization"] = authorization
    elif resource_server:
        basic = base64.b64encode(f"{rs.id}:{rs.secret}".encode()).decode()
        headers["authorization"] = f"Basic {basic}"
    with world.stack.auth.http() as http:
        response = http.post(path, content=_form(pairs), headers=headers)
    _check(world, f"AS POST {path}", response, "oauth")


@FUZZ
@given(body=BODY, segment=SEGMENT, method=st.sampled_from(["POST", "GET", "PUT", "DELETE"]),
       content_type=st.sampled_from(["application/json", "text/plain", "multipart/form-data"]))
def test_registration(world: World, body: bytes, segment: str, method: str,
                      content_type: str) -> None:
    path = "/register" if method == "POST" else f"/register/{segment}"
    with world.stack.auth.http() as http:
        response = http.request(method, path, content=body if method in {"POST", "PUT"} else None,
                                headers={"content-type": content_type,
                                         "authorization": "Bearer x"})
    _check(world, f"AS {method} /register", response, "oauth")


@FUZZ
@given(pairs=FORM, real_client=st.booleans(), cookie=st.one_of(st.none(), TEXT))
def test_the_authorization_endpoint(world: World, pairs: list[tuple[str, str]],
                                    real_client: bool, cookie: str | None) -> None:
    if real_client:
        pairs = [("client_id", world.client_id), ("response_type", "code"), *pairs]
    headers = {"cookie": f"hospiai_browser={quote(cookie)}"} if cookie is not None else {}
    with world.stack.auth.http() as http:
        response = http.get("/authorize" + _query(pairs), headers=headers)
    _check(world, "AS GET /authorize", response, "page")


@FUZZ
@given(segment=SEGMENT, pairs=FORM, page=st.sampled_from([
    "GET /authorize/resume/{}", "GET /interaction/{}", "POST /interaction/{}/login",
    "POST /interaction/{}/consent", "GET /login", "POST /login", "POST /logout",
    "GET /admin/clients/{}", "GET /admin/accounts/{}", "POST /account/grants/{}/revoke",
]))
def test_the_pages(world: World, segment: str, pairs: list[tuple[str, str]], page: str) -> None:
    method, template = page.split(" ")
    path = template.format(segment)
    if template in {"/login", "/logout"}:
        # Anonymous: the logged-in browsers must stay logged in for the other cases.
        with world.stack.auth.http() as anonymous:
            response = anonymous.request(method, path + _query(pairs),
                                         content=_form(pairs), headers=FORM_HEADERS)
        _check(world, f"AS {method} {template}", response, "page")
        return
    browser = world.admin if template.startswith("/admin") else world.browser
    if method == "GET":
        response = browser.get(path + _query(pairs))
    else:
        token = csrf_token(browser.get("/account").text)
        response = browser.post(path, content=_form([("csrf_token", token), *pairs]),
                                headers=FORM_HEADERS)
    _check(world, f"AS {method} {template}", response, "page")


@FUZZ
@given(pairs=FORM, query=TEXT, page=st.sampled_from(
    ["/admin/audit", "/admin/accounts", "/admin", "/admin/grants", "/admin/dashboard",
     "/account"]
))
def test_the_pages_that_search_and_post(world: World, pairs: list[tuple[str, str]], query: str,
                                        page: str) -> None:
    browser = world.browser if page == "/account" else world.admin
    params = {name: query[:8_000] for name in (
        "event", "q", "before", "page", "actor", "client_id", "account_id")}
    _check(world, f"AS GET {page}", browser.get(page, params=params), "page")
    token = csrf_token(world.browser.get("/account").text)
    created = world.browser.post("/account/tokens", headers=FORM_HEADERS,
                                 content=_form([("csrf_token", token), *pairs]))
    _check(world, "AS POST /account/tokens", created, "page")


@FUZZ
@given(path=st.one_of(
    st.sampled_from(["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration",
                     "/healthz", "/readyz", "/%6detrics", "/metrics", "/"]),
    SEGMENT.map(lambda segment: f"/{segment}"),
), header=st.binary(max_size=200).map(
    # What HTTP/1.1 lets through in a header value: no controls but tab.
    lambda raw: bytes(b for b in raw if b == 9 or 0x20 <= b != 0x7F).strip(b" \t")
))
def test_the_documents_and_probes(world: World, path: str, header: bytes) -> None:
    for base, service in ((world.stack.auth.url, "AS"), (world.stack.mcp_url[:-4], "MCP")):
        headers = {b"x-forwarded-for": header, b"cookie": b"hospiai_browser=" + header}
        response = httpx.get(base + path, headers=headers, timeout=30)
        _check(world, f"{service} GET documents", response, "any")


RPC_METHODS = st.sampled_from(["initialize", "tools/list", "tools/call", "resources/read",
                               "prompts/get", "ping", "notifications/initialized"])
TOOLS = st.sampled_from(["search_hospitals", "get_hospital", "get_hospital_status",
                         "list_doctors", "find_available_slots", "book_appointment",
                         "cancel_appointment", "list_my_appointments", "get_my_profile",
                         "update_hospital_status", "no_such_tool"])


@FUZZ
@given(method=RPC_METHODS, tool=TOOLS, arguments=st.dictionaries(
    st.sampled_from(["hospital_id", "doctor_id", "slot_id", "appointment_id", "city", "date_from",
                     "date_to", "latitude", "longitude", "limit", "reason", "specialty",
                     "service", "radius_km", "uri", "status", "beds_available"]),
    JSON, max_size=4,
), raw=st.one_of(st.none(), BODY), token=st.sampled_from(["good", "none", "odd"]),
    odd=TEXT)
def test_the_mcp_endpoint(world: World, method: str, tool: str, arguments: dict[str, Any],
                          raw: bytes | None, token: str, odd: str) -> None:
    headers = {"content-type": "application/json",
               "accept": "application/json, text/event-stream"}
    if token == "good":
        headers["authorization"] = f"Bearer {world.token}"
    elif token == "odd":
        headers["authorization"] = ("Bearer " + quote(odd)).strip()
    params: dict[str, Any] = {"name": tool, "arguments": arguments} if method == "tools/call" \
        else {"uri": f"hospital://{quote(odd)}"}
    body = raw if raw is not None else json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    ).encode()
    response = httpx.post(world.stack.mcp_url, content=body, headers=headers, timeout=30)
    _check(world, "MCP POST /mcp", response, "any")
    if response.status_code in {401, 403}:
        assert "www-authenticate" in response.headers

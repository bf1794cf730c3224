"""The introspection verifier: pooled client, cache keyed by hash and bounded, never past exp,
audience and issuer pinned, fail closed. The authorization server is an httpx.MockTransport."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mcpserver.auth import (
    MAX_TOKEN_CHARS,
    AuthServerUnavailable,
    IntrospectionRefused,
    IntrospectionVerifier,
)

RESOURCE = "https://mcp.hospiai.test/mcp"
ISSUER = "https://auth.hospiai.test"


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _active(**overrides: Any) -> dict[str, Any]:
    claims = {"active": True, "sub": "acct_1", "client_id": "client_1", "scope": "read:data",
              "aud": RESOURCE, "iss": ISSUER, "exp": 1_000_100, "iat": 1_000_000,
              "email": "a@hospiai.test", "given_name": "A", "family_name": "B", "role": "patient"}
    claims.update(overrides)
    return claims


def _verifier(
    handler: Callable[[httpx.Request], httpx.Response], clock: FakeTime, **options: Any
) -> tuple[IntrospectionVerifier, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    client = httpx.AsyncClient(transport=httpx.MockTransport(record))
    settings: dict[str, Any] = {"cache_ttl": 30, "cache_size": 100}
    settings.update(options)
    verifier = IntrospectionVerifier(
        client, introspection_url=f"{ISSUER}/introspect", client_id="rs_1", client_secret="s3cr3t",
        resource=RESOURCE, issuer=ISSUER, clock=clock, **settings,
    )
    return verifier, seen


def test_active_token_is_cached_for_the_ttl_and_sent_authenticated() -> None:
    clock = FakeTime()
    verifier, seen = _verifier(lambda r: httpx.Response(200, json=_active(exp=2_000_000)), clock)

    async def scenario() -> None:
        identity = await verifier.verify("hospiai_at_one")
        assert identity is not None and identity.sub == "acct_1"
        assert identity.scopes == frozenset({"read:data"})
        await verifier.verify("hospiai_at_one")
        assert len(seen) == 1
        clock.now += 30
        await verifier.verify("hospiai_at_one")
        assert len(seen) == 2

    asyncio.run(scenario())
    assert seen[0].headers["authorization"].startswith("Basic ")
    assert b"token=hospiai_at_one" in seen[0].content
    assert "hospiai_at_one" not in seen[0].url.query.decode()


def test_cache_never_outlives_exp() -> None:
    clock = FakeTime()
    verifier, seen = _verifier(lambda r: httpx.Response(200, json=_active(exp=1_000_005)), clock)

    async def scenario() -> None:
        assert await verifier.verify("t") is not None
        clock.now += 6
        # Asked again: the mock still says active, but exp has passed (checked here too).
        assert await verifier.verify("t") is None
        assert len(seen) == 2

    asyncio.run(scenario())


def test_cache_is_bounded_and_keyed_by_hash() -> None:
    clock = FakeTime()
    verifier, _ = _verifier(lambda r: httpx.Response(200, json=_active(exp=2_000_000)), clock,
                            cache_size=3)

    async def scenario() -> None:
        for index in range(10):
            await verifier.verify(f"hospiai_at_{index}")

    asyncio.run(scenario())
    cache = verifier._cache
    assert len(cache) == 3
    assert all(len(key) == 64 and "hospiai" not in key for key in cache)


@pytest.mark.parametrize(
    "claims",
    [
        _active(aud="https://other.hospiai.test/api"),
        _active(aud=["https://other.hospiai.test/api"]),
        _active(iss="https://evil.example"),
        {"active": False},
        _active(active="true"),
        _active(sub=None) | {"exp": "soon"},
    ],
)
def test_foreign_or_inactive_tokens_are_refused(claims: dict[str, Any]) -> None:
    verifier, _ = _verifier(lambda r: httpx.Response(200, json=claims), FakeTime())
    assert asyncio.run(verifier.verify("t")) is None


@pytest.mark.parametrize(
    "handler",
    [
        lambda r: httpx.Response(500, text="boom"),
        lambda r: httpx.Response(401, json={"error": "invalid_client"}),
        lambda r: httpx.Response(200, text="not json"),
        lambda r: (_ for _ in ()).throw(httpx.ConnectError("refused")),
        lambda r: (_ for _ in ()).throw(httpx.ReadTimeout("slow")),
    ],
)
def test_authorization_server_failure_fails_closed(
    handler: Callable[[httpx.Request], httpx.Response],
) -> None:
    verifier, _ = _verifier(handler, FakeTime())
    with pytest.raises(AuthServerUnavailable):
        asyncio.run(verifier.verify("t"))


@pytest.mark.parametrize(
    "claims",
    [
        _active(exp=1_000_000),  # expired now, whatever active says
        _active(exp=999_000, iat=998_000),
        _active(iat=1_000_061),  # issued in the future, past the clock-skew leeway
        _active(exp=1_000_100, iat=1_000_050) | {"exp": 1_000_040},  # issued after it expires
        _active(exp=True),
        _active(iat="soon"),
        _active(exp=None),
    ],
)
def test_exp_and_iat_are_checked_here_even_when_active(claims: dict[str, Any]) -> None:
    verifier, seen = _verifier(lambda r: httpx.Response(200, json=claims), FakeTime())
    assert asyncio.run(verifier.verify("t")) is None
    assert len(seen) == 1


@pytest.mark.parametrize("exp", [b"Infinity", b"NaN", b"-Infinity"])
def test_an_exp_no_integer_can_hold_is_refused(exp: bytes) -> None:
    claims = json.dumps(_active(exp=0)).encode().replace(b'"exp": 0', b'"exp": ' + exp)
    verifier, _ = _verifier(lambda r: httpx.Response(200, content=claims), FakeTime())
    assert asyncio.run(verifier.verify("t")) is None


def test_iat_within_the_leeway_and_exp_ahead_are_accepted() -> None:
    verifier, _ = _verifier(
        lambda r: httpx.Response(200, json=_active(iat=1_000_060, exp=1_000_100)), FakeTime())
    assert asyncio.run(verifier.verify("t")) is not None


def test_a_token_longer_than_any_issued_is_refused_without_asking() -> None:
    verifier, seen = _verifier(lambda r: httpx.Response(200, json=_active()), FakeTime())
    assert asyncio.run(verifier.verify("x" * MAX_TOKEN_CHARS)) is not None
    assert asyncio.run(verifier.verify("x" * (MAX_TOKEN_CHARS + 1))) is None
    assert asyncio.run(verifier.verify("y" * 70_000)) is None
    assert len(seen) == 1


@pytest.mark.parametrize("status", [400, 404, 413, 414, 422])
def test_the_authorization_server_refusing_the_request_is_an_invalid_token(status: int) -> None:
    verifier, _ = _verifier(lambda r: httpx.Response(status, json={"error": "x"}), FakeTime())
    assert asyncio.run(verifier.verify("t")) is None


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_are_a_fault_of_configuration(status: int) -> None:
    verifier, _ = _verifier(lambda r: httpx.Response(status, json={"error": "x"}), FakeTime())
    with pytest.raises(IntrospectionRefused):
        asyncio.run(verifier.verify("t"))

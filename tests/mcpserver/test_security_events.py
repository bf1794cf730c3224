"""The revocation feed's receiver and the cache it evicts from: each event drops exactly the
answers it names, a SET that is not this feed's is reported back and changes nothing, the
position is acknowledged, and an answer in flight during an eviction is not cached. The
authorization server is an httpx.MockTransport."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from mcpserver.auth import IntrospectionVerifier
from mcpserver.security_events import Feed, SecurityEventReceiver
from shared.security_events import (
    ACCOUNT_DISABLED,
    CLIENT_REVOKED,
    SESSION_REVOKED,
    TOKEN_CLAIMS_CHANGE,
    TOKEN_REVOKED,
    UNKNOWN_POSITION,
)
from tests.mcpserver.test_auth import ISSUER, RESOURCE, FakeTime, _active

FEED = f"{ISSUER}/security-events"
# Four tokens: two of acct_1 (with client_1 and client_2), one of acct_2 with client_1, one of
# acct_3 with client_3.
HOLDERS = {"t1": ("acct_1", "client_1"), "t2": ("acct_1", "client_2"),
           "t3": ("acct_2", "client_1"), "t4": ("acct_3", "client_3")}


def _part(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def sset(jti: str, event_type: str, subject: dict[str, Any], *, header: dict[str, Any] | None
         = None, signature: str = "", **claims: Any) -> str:
    body = {"iss": ISSUER, "aud": RESOURCE, "iat": 1, "jti": jti, "sub_id": subject,
            "events": {event_type: {}}, **claims}
    return (f"{_part(header or {'typ': 'secevent+jwt', 'alg': 'none'})}.{_part(body)}"
            f".{signature}")


def user(sub: str) -> dict[str, str]:
    return {"format": "iss_sub", "iss": ISSUER, "sub": sub}


def opaque(value: str) -> dict[str, str]:
    return {"format": "opaque", "id": value}


class Stack:
    """A verifier with the four tokens cached, and a receiver of a feed that answers
    ``answers`` in turn (a poll response, or the description of a 400 refusal); ``polls`` are
    the poll request bodies."""

    def __init__(self, answers: list[dict[str, Any] | str]) -> None:
        self.introspections: list[str] = []
        self.polls: list[dict[str, Any]] = []
        self.answers = answers

        def handle(request: httpx.Request) -> httpx.Response:
            if request.url.path == "/security-events":
                self.polls.append(json.loads(request.content))
                answer = self.answers.pop(0)
                # A refusal (RFC 8936 section 2.4.4) is given as its description alone.
                if isinstance(answer, str):
                    return httpx.Response(
                        400, json={"err": "invalid_request", "description": answer})
                return httpx.Response(200, json=answer)
            token = dict(httpx.QueryParams(request.content.decode()))["token"]
            self.introspections.append(token)
            sub, client_id = HOLDERS[token]
            return httpx.Response(200, json=_active(sub=sub, client_id=client_id))

        client = httpx.AsyncClient(transport=httpx.MockTransport(handle))
        self.verifier = IntrospectionVerifier(
            client, introspection_url=f"{ISSUER}/introspect", client_id="rs_1",
            client_secret="s3cr3t", resource=RESOURCE, issuer=ISSUER, cache_ttl=30,
            cache_size=100, clock=FakeTime(),
        )
        self.receiver = SecurityEventReceiver(
            client, Feed(FEED, "rs_1", "s3cr3t", ISSUER, RESOURCE, 1.0), self.verifier,
            CollectorRegistry(),
        )

    async def asked_again(self) -> set[str]:
        """Which of the cached tokens the verifier has to introspect again."""
        before = len(self.introspections)
        for token in HOLDERS:
            assert await self.verifier.verify(token) is not None
        return set(self.introspections[before:])


def test_each_event_drops_exactly_the_answers_it_names() -> None:
    cases: list[tuple[str, str, dict[str, Any], set[str]]] = [
        ("1", TOKEN_REVOKED, opaque(hashlib.sha256(b"t2").hexdigest()), {"t2"}),
        ("2", SESSION_REVOKED, {"format": "complex", "user": user("acct_1"),
                                "application": opaque("client_1")}, {"t1"}),
        ("3", ACCOUNT_DISABLED, user("acct_1"), {"t1", "t2"}),
        ("4", CLIENT_REVOKED, opaque("client_1"), {"t1", "t3"}),
        ("9", TOKEN_CLAIMS_CHANGE, user("acct_2"), {"t3"}),
        # An event type this receiver does not know drops nothing.
        ("5", "https://schemas.openid.net/secevent/caep/event-type/credential-change",
         user("acct_3"), set()),
    ]

    async def run() -> None:
        for jti, event_type, subject, dropped in cases:
            stack = Stack([{"sets": {jti: sset(jti, event_type, subject)}}])
            assert await stack.asked_again() == set(HOLDERS)  # all four cached
            assert await stack.receiver.poll() is False
            assert await stack.asked_again() == dropped, event_type
            assert stack.receiver.position == jti

    asyncio.run(run())


def test_sets_that_are_not_this_feeds_change_nothing_and_are_reported() -> None:
    account = user("acct_1")
    bad = {
        "1": sset("1", ACCOUNT_DISABLED, account, iss="https://evil.test"),
        "2": sset("2", ACCOUNT_DISABLED, account, aud="https://other.test/mcp"),
        "3": sset("3", ACCOUNT_DISABLED, account, header={"typ": "secevent+jwt", "alg": "HS256"}),
        "4": sset("4", ACCOUNT_DISABLED, account, signature="c2ln"),
        "5": sset("6", ACCOUNT_DISABLED, account),  # its jti is not the one it is listed under
        "6": sset("6", ACCOUNT_DISABLED, {"format": "iss_sub", "iss": "https://evil.test",
                                          "sub": "acct_1"}),
        "7": "not a jwt",
        "x": sset("x", ACCOUNT_DISABLED, account),
    }

    async def run() -> None:
        stack = Stack([{"sets": bad}, {"sets": {}}])
        await stack.asked_again()
        await stack.receiver.poll()
        assert await stack.asked_again() == set()
        await stack.receiver.poll()
        # Delivered, so acknowledged up to the newest of this feed's jtis, and reported.
        assert stack.polls[0]["ack"] == [] and stack.polls[1]["ack"] == ["7"]
        assert set(stack.polls[1]["setErrs"]) == set(bad)
        errors = stack.polls[1]["setErrs"].values()
        assert all(error["err"] == "invalid_request" for error in errors)

    asyncio.run(run())


def test_the_position_is_acknowledged_and_more_is_fetched_at_once() -> None:
    first = {"sets": {"7": sset("7", CLIENT_REVOKED, opaque("client_9")),
                      "10": sset("10", CLIENT_REVOKED, opaque("client_9"))},
             "moreAvailable": True}

    async def run() -> None:
        stack = Stack([first, {"sets": {}, "moreAvailable": False}])
        assert await stack.receiver.poll() is True
        assert await stack.receiver.poll() is False
        assert stack.polls[0]["ack"] == [] and stack.polls[1]["ack"] == ["10"]
        assert stack.polls[0]["returnImmediately"] is True

    asyncio.run(run())


def test_a_refused_position_drops_every_cached_answer_and_starts_again_without_it() -> None:
    """The feed refuses only a position it never issued (its database was restored or reset):
    what this server missed cannot be known, so nothing cached is trusted any more."""
    first = {"sets": {"7": sset("7", CLIENT_REVOKED, opaque("client_9"))}}

    async def run() -> None:
        stack = Stack([first, UNKNOWN_POSITION, {"sets": {}}])
        assert await stack.asked_again() == set(HOLDERS)
        assert await stack.receiver.poll() is False and stack.receiver.position == "7"
        assert await stack.receiver.poll() is True  # poll again at once, with no position
        assert await stack.asked_again() == set(HOLDERS)
        assert await stack.receiver.poll() is False
        assert [body["ack"] for body in stack.polls] == [[], ["7"], []]

    asyncio.run(run())


def test_any_other_refusal_is_a_feed_failure_and_keeps_the_cache() -> None:
    """Without a position there is nothing to start again from, and a 400 for another reason
    (a proxy's, a poll the feed could not read) says nothing of what was missed: the TTL
    stands, as for a feed that cannot be reached."""
    first = {"sets": {"7": sset("7", CLIENT_REVOKED, opaque("client_9"))}}

    async def run() -> None:
        stack = Stack([UNKNOWN_POSITION, first, "The poll request must be a JSON object.",
                       {"sets": {}}])
        assert await stack.asked_again() == set(HOLDERS)
        with pytest.raises(ValueError, match="HTTP 400"):
            await stack.receiver.poll()  # no position yet
        assert await stack.receiver.poll() is False  # position 7
        with pytest.raises(ValueError, match="HTTP 400"):
            await stack.receiver.poll()  # another refusal
        assert await stack.asked_again() == set()
        assert await stack.receiver.poll() is False
        assert [body["ack"] for body in stack.polls] == [[], [], ["7"], ["7"]]

    asyncio.run(run())


def test_an_answer_in_flight_during_an_eviction_is_not_cached() -> None:
    """The answer may predate the revocation the eviction was for."""
    release = asyncio.Event()
    calls: list[str] = []

    async def handle(request: httpx.Request) -> httpx.Response:
        calls.append("introspect")
        if len(calls) == 1:
            await release.wait()
        return httpx.Response(200, json=_active())

    async def run() -> None:
        verifier = IntrospectionVerifier(
            httpx.AsyncClient(transport=httpx.MockTransport(handle)),
            introspection_url=f"{ISSUER}/introspect", client_id="rs_1", client_secret="s",
            resource=RESOURCE, issuer=ISSUER, cache_ttl=30, cache_size=100, clock=FakeTime(),
        )
        pending = asyncio.create_task(verifier.verify("t1"))
        while not calls:
            await asyncio.sleep(0)
        verifier.evict(account_id="acct_1")
        release.set()
        assert await pending is not None
        await verifier.verify("t1")
        assert calls == ["introspect", "introspect"]

    asyncio.run(run())

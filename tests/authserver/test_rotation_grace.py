"""Rotating a resource server's credentials with a grace period (issue 17 item 3): the old and
the new secret both work until the grace ends, at introspection and at the legacy validation
endpoint alike, and never after; no grace refuses the old one at once; a second rotation ends
the first one's grace; the choice is audited."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from authserver.endpoints.validate import CREDENTIALS_HEADER, PATH
from tests.databases import Databases, both_backends
from tests.flow import create_personal_token, introspect, logged_in, new_personal_token, post_form
from tests.harness import AuthServer, start_auth_server

pytestmark = both_backends

HOUR = 3600


@pytest.fixture
def server(databases: Databases) -> Iterator[AuthServer]:
    # The legacy validation endpoint is another endpoint resource servers authenticate to.
    with start_auth_server(databases, legacy_validate="credentials") as started:
        started.clock.freeze()
        yield started


def _rotate(server: AuthServer, **form: str) -> httpx.Response:
    rs_id = server.resource_server.id
    with logged_in(server, server.account("admin").email, "/admin") as admin:
        return post_form(
            admin, f"/admin/confirm/resource-servers/{rs_id}/rotate",
            f"/admin/resource-servers/{rs_id}/rotate", **form,
        )


def _new_secret(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    found = re.search(r'id="rs-secret" type="text" readonly value="([^"]+)"', response.text)
    assert found, response.text
    return found.group(1)


def _works(server: AuthServer, secret: str, personal_token: str) -> bool:
    """Whether both endpoints take the secret; they must agree."""
    rs_id = server.resource_server.id
    introspected = introspect(server, "hospiai_at_unknown", (rs_id, secret)).status_code
    with server.http() as client:
        validated = client.post(PATH, headers={
            "Authorization": f"Bearer {personal_token}", CREDENTIALS_HEADER: f"{rs_id}:{secret}",
        }).status_code
    assert {introspected, validated} in ({200}, {401}), (introspected, validated)
    return introspected == 200


def _personal_token(server: AuthServer) -> str:
    with logged_in(server, server.account().email) as browser:
        return new_personal_token(create_personal_token(browser, server, name="Le Chat"))


def test_the_old_secret_works_until_the_grace_ends_and_never_after(server: AuthServer) -> None:
    token, old = _personal_token(server), server.resource_server.secret or ""
    rotated = _rotate(server, grace=str(HOUR))
    new = _new_secret(rotated)
    assert "The previous secret keeps working until" in rotated.text
    assert _works(server, old, token) and _works(server, new, token)
    server.clock.advance(HOUR - 1)
    assert _works(server, old, token)
    server.clock.advance(1)
    assert not _works(server, old, token)
    assert _works(server, new, token)
    server.clock.advance(30 * 86400)
    assert not _works(server, old, token)
    [event] = server.store.audit_events(event="admin.resource_server_rotated")
    assert event.detail == {"resource_server_id": server.resource_server.id, "grace": "3600"}


def test_without_a_grace_the_old_secret_is_refused_at_once(server: AuthServer) -> None:
    token, old = _personal_token(server), server.resource_server.secret or ""
    for form in ({"grace": "0"}, {}):  # none chosen, or a form that names none
        rotated = _rotate(server, **form)
        new = _new_secret(rotated)
        assert "keeps working" not in rotated.text
        assert not _works(server, old, token) and _works(server, new, token)
        old = new


def test_a_second_rotation_ends_the_first_ones_grace(server: AuthServer) -> None:
    token, first = _personal_token(server), server.resource_server.secret or ""
    second = _new_secret(_rotate(server, grace=str(24 * HOUR)))
    third = _new_secret(_rotate(server, grace=str(HOUR)))
    # Only the secret the second rotation replaced is in grace; the first is gone for good.
    assert not _works(server, first, token)
    assert _works(server, second, token) and _works(server, third, token)
    fourth = _new_secret(_rotate(server, grace="0"))
    assert not _works(server, second, token) and not _works(server, third, token)
    assert _works(server, fourth, token)
    graces = [event.detail["grace"] for event in reversed(
        server.store.audit_events(event="admin.resource_server_rotated"))]
    assert graces == ["86400", "3600", "0"]


def test_a_grace_not_offered_is_refused_and_rotates_nothing(server: AuthServer) -> None:
    token, old = _personal_token(server), server.resource_server.secret or ""
    for grace in ("", "60", "31536000", "-1", "1h", "9" * 400, "²"):
        refused = _rotate(server, grace=grace)
        assert refused.status_code == 400, grace[:10]
        assert "Choose a grace period of none, 1 hour or 24 hours." in refused.text
    assert _works(server, old, token)
    assert not server.store.audit_events(event="admin.resource_server_rotated")

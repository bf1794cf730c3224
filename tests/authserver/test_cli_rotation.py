"""`hospiai resource-servers rotate` (issue 17 item 3, from the command line): the console's
rotation, run as a real process against the authorization server's database, with a grace
during which the old and the new secret both introspect, and never after; a bad id or grace
is one line and status 2, and changes nothing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime

import pytest

from tests.databases import Databases, both_backends
from tests.flow import introspect
from tests.harness import AuthServer, start_auth_server

pytestmark = [both_backends, pytest.mark.processes]

HOUR = 3600
# How long the command may take to start and write its row: its clock is the real one, the
# server's is frozen before it runs.
SLACK = 120


@pytest.fixture
def server(databases: Databases) -> Iterator[AuthServer]:
    with start_auth_server(databases) as started:
        started.clock.freeze()
        yield started


def _rotate(server: AuthServer, *options: str) -> subprocess.CompletedProcess[str]:
    settings = server.settings
    env = {
        **os.environ,
        "HOSPIAI_ISSUER": settings.issuer,
        "HOSPIAI_SECRET_KEY": settings.secret_key,
        "HOSPIAI_AUTH_DATABASE_URL": settings.database_url,
    }
    return subprocess.run(
        [sys.executable, "-m", "hospiai.cli", "resource-servers", "rotate", *options],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )


def _new_secret(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    found = re.search(r"^resource_server_secret: (hospiai_rs_\S+)  \(shown once",
                      result.stdout, re.MULTILINE)
    assert found, result.stdout
    return found.group(1)


def _works(server: AuthServer, secret: str) -> bool:
    status = introspect(server, "hospiai_at_unknown", (server.resource_server.id, secret))
    assert status.status_code in (200, 401), status.text
    return status.status_code == 200


def test_the_old_secret_works_for_the_grace_and_never_after(server: AuthServer) -> None:
    rs_id, old = server.resource_server.id, server.resource_server.secret or ""
    rotated = _rotate(server, rs_id, "--grace-minutes", "60")
    new = _new_secret(rotated)
    found = re.search(r"^previous secret: works until (\S+) \(Paris time\)", rotated.stdout,
                      re.MULTILINE)
    assert found, rotated.stdout
    until = datetime.fromisoformat(found.group(1))
    assert until.utcoffset() is not None  # a time anyone can read unambiguously
    assert 0 <= until.timestamp() - (server.clock() + HOUR) <= SLACK
    assert _works(server, old) and _works(server, new)
    server.clock.advance(HOUR - SLACK)
    assert _works(server, old) and _works(server, new)
    server.clock.advance(2 * SLACK)
    assert not _works(server, old)
    assert _works(server, new)
    [event] = server.store.audit_events(event="admin.resource_server_rotated")
    assert event.actor is None
    assert event.detail == {"resource_server_id": rs_id, "grace": "3600", "via": "cli"}
    for secret in (old, new):
        assert secret not in rotated.stderr


def test_without_a_grace_the_old_secret_is_refused_at_once(server: AuthServer) -> None:
    rs_id, old = server.resource_server.id, server.resource_server.secret or ""
    rotated = _rotate(server, rs_id)  # the default: no grace, as the console's
    new = _new_secret(rotated)
    assert "previous secret: refused from now on" in rotated.stdout
    assert not _works(server, old) and _works(server, new)
    [event] = server.store.audit_events(event="admin.resource_server_rotated")
    assert event.detail == {"resource_server_id": rs_id, "grace": "0", "via": "cli"}


def test_a_bad_id_or_grace_is_one_line_status_2_and_changes_nothing(server: AuthServer) -> None:
    rs_id, old = server.resource_server.id, server.resource_server.secret or ""
    refusals: dict[tuple[str, ...], str] = {
        ("rs_nowhere", "--grace-minutes", "60"): "no resource server has the id 'rs_nowhere'",
        **{
            (rs_id, f"--grace-minutes={grace}"): "--grace-minutes must be a whole number of"
            " minutes from 0 to 1440 (24 hours)"
            for grace in ("-1", "1441", "1h", "²")
        },
    }
    for options, reason in refusals.items():
        refused = _rotate(server, *options)
        assert refused.returncode == 2, (options, refused.stderr)
        assert refused.stdout == ""
        [line] = refused.stderr.splitlines()
        assert line.startswith(f"hospiai: {reason}"), line
    assert _works(server, old)
    assert not server.store.audit_events(event="admin.resource_server_rotated")

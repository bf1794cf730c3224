"""Fixtures: a real authorization server on loopback with its own database (a SQLite file, or
PostgreSQL for tests marked with both_backends)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from authserver.provisioning import Credentials
from tests.databases import Databases, Templates
from tests.harness import AuthServer, Stack, start_auth_server, start_stack
from tests.internet import Internet, stand_in_internet


# The trust store of every HTTP client the tests make, and of the processes they start: one
# throwaway CA that signs nothing. No test may pass by trusting a public CA (the stand-in internet
# configures trust in its own CA explicitly), and each client no longer parses the 140
# certificates of certifi's bundle: 40-65 ms of CPU per client, of which the suite makes
# thousands (httpx reads SSL_CERT_FILE when it builds a client's TLS context).
def pytest_configure(config: pytest.Config) -> None:
    folder = Path(tempfile.mkdtemp(prefix="hospiai-trust-"))
    trustme.CA().cert_pem.write_to_path(str(folder / "ca.pem"))
    os.environ["SSL_CERT_FILE"] = str(folder / "ca.pem")
    config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that start processes of their own first (a stable sort keeps each module's order):
    they are the slowest, and handed out last they left three of four workers idle at the end."""
    items.sort(key=lambda item: item.get_closest_marker("processes") is None)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """SQLite, unless the test is parametrised with both_backends."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    """Each service's newest schema, migrated once per test process and copied per test."""
    made = Templates(tmp_path_factory.mktemp("templates"))
    yield made
    made.drop()


@pytest.fixture
def databases(backend: str, tmp_path: Path, templates: Templates) -> Iterator[Databases]:
    found = Databases(backend, tmp_path, templates)
    yield found
    found.drop()


@pytest.fixture
def auth_server(databases: Databases) -> Iterator[AuthServer]:
    with start_auth_server(databases) as server:
        yield server


@pytest.fixture
def public_client(auth_server: AuthServer) -> str:
    """A pre-registered public client (token_endpoint_auth_method "none")."""
    return auth_server.client(public=True).id


@pytest.fixture
def confidential_client(auth_server: AuthServer) -> Credentials:
    """A pre-registered confidential client (client_secret_basic) on the loopback redirect:
    remembered and admin consent apply to it, unlike to a public one answered on this device
    (RFC 8252 section 8.6)."""
    return auth_server.client()


@pytest.fixture
def stack(databases: Databases) -> Iterator[Stack]:
    with start_stack(databases) as started:
        yield started


@pytest.fixture
def internet(tmp_path: Path) -> Iterator[Internet]:
    """The loopback stand-in for other sites (client metadata documents)."""
    with stand_in_internet(tmp_path) as internet:
        yield internet


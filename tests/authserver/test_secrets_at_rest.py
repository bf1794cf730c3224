"""Every secret at rest is a hash (or, for the grace-window replay, ciphertext): the database
files never contain a token, code, client secret, registration token, resource-server secret
or password, and passwords use argon2id at OWASP's minimum or stronger."""

from __future__ import annotations

from pathlib import Path

from authserver.provisioning import create_account
from tests.flow import REDIRECT_URI, authorize, exchange, refresh
from tests.harness import PASSWORD, AuthServer


def _database_bytes(server: AuthServer) -> bytes:
    path = Path(server.settings.database_url.removeprefix("sqlite:///"))
    # WAL mode: recent writes may still be in the -wal file, so read both.
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def test_no_secret_is_stored_by_value(auth_server: AuthServer) -> None:
    account = auth_server.account()
    with auth_server.http() as http:
        registered = http.post("/register", json={
            "redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "client_secret_post",
            "grant_types": ["authorization_code", "refresh_token"]}).json()
    client_id, client_secret = registered["client_id"], registered["client_secret"]
    result = authorize(auth_server, client_id, account.email)
    first = exchange(auth_server, client_id, result.params["code"], result.verifier,
                     client_secret=client_secret).json()
    # A rotation stores the sealed replay of the new pair next to the spent token.
    second = refresh(auth_server, client_id, first["refresh_token"],
                     client_secret=client_secret).json()
    assert "access_token" in second

    secrets = {
        "code": result.params["code"],
        "client secret": client_secret,
        "registration access token": registered["registration_access_token"],
        "resource-server secret": auth_server.resource_server.secret or "",
        "password": PASSWORD,
    }
    for label, tokens in (("first", first), ("rotated", second)):
        secrets[f"{label} access token"] = tokens["access_token"]
        secrets[f"{label} refresh token"] = tokens["refresh_token"]
    stored = _database_bytes(auth_server)
    assert stored, "the database files were not found"
    for label, value in secrets.items():
        assert value and value.encode() not in stored, f"{label} is stored by value"
    # The part after the prefix too, in case a row dropped the recognisable prefix.
    for value in secrets.values():
        if value.startswith("hospiai_"):
            assert value.split("_", 2)[2].encode() not in stored


def test_passwords_are_argon2id_at_the_owasp_minimum(auth_server: AuthServer) -> None:
    # As every account is created (the CLI, the admin console, hospiai dev): no test hasher.
    account = create_account(
        auth_server.store, email="owasp@hospiai.test", password=PASSWORD, given_name="A",
        family_name="B", now=auth_server.clock(),
    )
    assert account.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PASSWORD not in account.password_hash

"""The passkey storage on both backends (issue 15): a credential registered once, a disabled
account's passkey never found for a sign-in, a sign count that only one use moves, a
challenge used once even by two replicas on one database, removal, the console's counts, and
the purge of spent challenges."""

from __future__ import annotations

import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

from authserver.maintenance import purge
from authserver.models import Passkey
from authserver.store import Store
from shared.database import create_db_engine
from tests.databases import both_backends
from tests.harness import AuthServer

pytestmark = both_backends


def _passkey(server: AuthServer, account_id: str, credential_id: bytes | None = None) -> Passkey:
    return Passkey(
        id=f"pk_{secrets.token_hex(8)}", account_id=account_id,
        credential_id=credential_id or secrets.token_bytes(16), public_key=b"\xa5cose",
        sign_count=5, name="Laptop", device_type="single_device", created_at=server.clock(),
    )


def test_a_credential_is_registered_once_and_found_only_for_an_active_account(
    auth_server: AuthServer,
) -> None:
    store, alice, bob = auth_server.store, auth_server.account(), auth_server.account()
    first = _passkey(auth_server, alice.id)
    assert store.add_passkey(first)
    # The same credential again, for the same or another account: refused, nothing stored.
    assert not store.add_passkey(_passkey(auth_server, bob.id, first.credential_id))
    assert store.passkeys(bob.id) == []
    found = store.passkey_by_credential(first.credential_id)
    assert found is not None and found[0].id == first.id and found[1].id == alice.id
    assert store.passkey_by_credential(secrets.token_bytes(16)) is None
    store.set_account_disabled(alice.id, True, auth_server.clock())
    assert store.passkey_by_credential(first.credential_id) is None


def test_the_sign_count_moves_once_from_what_was_seen(auth_server: AuthServer) -> None:
    store, account = auth_server.store, auth_server.account()
    passkey = _passkey(auth_server, account.id)
    store.add_passkey(passkey)
    now = auth_server.clock()
    assert store.passkey_used(passkey.id, 5, 6, now)
    # A second assertion verified against the same count (a clone racing the key) loses.
    assert not store.passkey_used(passkey.id, 5, 7, now)
    [stored] = store.passkeys(account.id)
    assert stored.sign_count == 6 and stored.last_used_at == now
    # An authenticator that counts nothing reports 0 every time.
    assert store.passkey_used(passkey.id, 6, 0, now + 1)
    assert store.passkey_used(passkey.id, 0, 0, now + 2)


def test_a_challenge_is_used_once_by_any_number_of_replicas(auth_server: AuthServer) -> None:
    replica = Store(create_db_engine(auth_server.settings.database_url))
    try:
        now = auth_server.clock()
        assert auth_server.store.use_challenge("challenge-hash", now, now + 180)
        assert not replica.use_challenge("challenge-hash", now + 1, now + 180)
        assert not auth_server.store.use_challenge("challenge-hash", now + 179, now + 180)
        assert replica.use_challenge("another-hash", now, now + 180)
        counts = purge(auth_server.settings, replica, now + 181)
        assert counts["challenges"] == 2
    finally:
        replica.dispose()


def test_removal_and_the_consoles_counts(auth_server: AuthServer) -> None:
    store, alice, bob = auth_server.store, auth_server.account(), auth_server.account()
    mine = [_passkey(auth_server, alice.id) for _ in range(2)]
    for passkey in mine:
        store.add_passkey(passkey)
    theirs = _passkey(auth_server, bob.id)
    store.add_passkey(theirs)
    assert store.with_passkeys([alice.id, bob.id, "acc_none"]) == {alice.id: 2, bob.id: 1}
    # Only one's own passkey, by its id.
    assert not store.remove_passkey(alice.id, theirs.id)
    assert store.remove_passkey(alice.id, mine[0].id)
    assert not store.remove_passkey(alice.id, mine[0].id)
    assert store.remove_passkeys(alice.id) == 1
    assert store.passkeys(alice.id) == [] and len(store.passkeys(bob.id)) == 1


def test_a_factor_that_must_stay_is_never_removed_even_by_racing_removals(
    auth_server: AuthServer,
) -> None:
    """keep_one: the DELETE itself checks another factor stays, with the account locked, so
    two removals at once (two tabs, two replicas) cannot both take one of the last two."""
    store = auth_server.store
    for _ in range(10):
        account = auth_server.account("staff")
        keys = [_passkey(auth_server, account.id) for _ in range(2)]
        for key in keys:
            assert store.add_passkey(key)
        barrier = threading.Barrier(2)

        def remove(key: Passkey, account_id: str = account.id,
                   barrier: threading.Barrier = barrier) -> bool:
            barrier.wait()
            return store.remove_passkey(account_id, key.id, keep_one=True)

        with ThreadPoolExecutor(2) as pool:
            removed = list(pool.map(remove, keys))
        assert sorted(removed) == [False, True]
        assert len(store.passkeys(account.id)) == 1
    # The last one, and an authenticator app that is the last: refused; without keep_one (an
    # admin's reset) both go.
    (left,) = store.passkeys(account.id)
    assert not store.remove_passkey(account.id, left.id, keep_one=True)
    assert store.remove_passkey(account.id, left.id)
    app_only = auth_server.account("staff")
    assert store.start_one_time_codes(app_only.id, b"sealed", auth_server.clock())
    assert not store.remove_one_time_codes(app_only.id, keep_one=True)
    assert store.one_time_code_factor(app_only.id) is not None
    with_key = auth_server.account("staff")
    assert store.start_one_time_codes(with_key.id, b"sealed", auth_server.clock())
    assert store.add_passkey(_passkey(auth_server, with_key.id))
    assert store.remove_one_time_codes(with_key.id, keep_one=True)

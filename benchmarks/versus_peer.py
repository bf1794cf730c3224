"""(g) Ours against node-oidc-provider 9 on Node 22 with a SQLite adapter (benchmarks/peers),
both on a fresh SQLite file, in alternating rounds: /introspect answering a valid opaque
access token to a resource server authenticated with client_secret_basic, and the refresh
grant with rotation, every request spending a refresh token of its own grant (as (d) does).
Without npx or the npm registry the section prints why it was skipped and the benchmark goes
on. Its servers take free ports: nothing else that listens can be measured instead."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from authserver.security import Keys
from authserver.store import Store
from benchmarks.introspection import access_token, basic_form, provision_auth
from benchmarks.measure import CONNECTIONS, DURATION, compare, request_script, start, wrk_script
from benchmarks.peers import oidc_provider
from benchmarks.refresh import REFRESH_DURATION, TOKENS, refresh_script, seed_tokens
from shared.database import create_db_engine
from tests.servers import free_port

TITLE = (f"(g) against node-oidc-provider {oidc_provider.VERSION} (Node 22, SQLite adapter, "
         f"synchronous=NORMAL: its commits do not wait for the disk, ours do)")
RESOURCE = "http://127.0.0.1:18000/mcp"


def bench_versus_peer(work: Path) -> None:
    try:
        node = oidc_provider.install()
    except oidc_provider.Unavailable as reason:
        print(f"{TITLE}: skipped, {reason}\n")
        return
    ours = _Ours(work)
    try:
        peer = oidc_provider.Peer(node, work, free_port(), free_port(), RESOURCE)
        try:
            _introspection(ours, peer, work)
            _refresh(ours, peer, work)
        finally:
            peer.stop()
    finally:
        ours.stop()


class _Ours:
    """The authorization server as (b) runs it, on its own SQLite file."""

    def __init__(self, work: Path) -> None:
        port, self.secret_key = free_port(), secrets.token_urlsafe(32)
        self.url, self.database_url = f"http://127.0.0.1:{port}", f"sqlite:///{work / 'g.sqlite3'}"
        self.ids = provision_auth(self.database_url, RESOURCE, self.secret_key)
        path = work / "g.json"
        path.write_text(json.dumps({"auth": {
            "issuer": self.url, "secret_key": self.secret_key, "database_url": self.database_url,
            "default_resource": RESOURCE, "access_token_ttl": 3600, "default_locale": "en"}}))
        self.process = start("auth", port, path)
        self.store = Store(create_db_engine(self.database_url))

    def stop(self) -> None:
        self.store.dispose()
        self.process.terminate()
        self.process.wait(timeout=30)


def _introspection(ours: _Ours, peer: oidc_provider.Peer, work: Path) -> None:
    token = access_token(ours.url, ours.ids["client_id"])
    form = basic_form(ours.ids["rs_id"], ours.ids["rs_secret"])
    peer_token = peer.seed("access", 1)[0]
    theirs = request_script("POST", f"token={peer_token}", basic_form(*peer.introspector), work,
                            "oidc-provider")
    mine = request_script("POST", f"token={token}", form, work, "ours")
    compare(
        f"{TITLE}: POST /introspect, client_secret_basic, valid opaque token, "
        f"wrk -c{CONNECTIONS} -d{DURATION}",
        1.2,
        ("oidc-provider (baseline)", lambda: wrk_script(f"{peer.url}/introspect", theirs)),
        ("ours, SQLite", lambda: wrk_script(f"{ours.url}/introspect", mine)),
    )


def _refresh(ours: _Ours, peer: oidc_provider.Peer, work: Path) -> None:
    keys, client_id = Keys(ours.secret_key), ours.ids["client_id"]

    def mine() -> dict[str, float]:
        values = seed_tokens(ours.store, keys, client_id, RESOURCE, TOKENS)
        return wrk_script(f"{ours.url}/token", refresh_script(work, client_id, values, "ours"),
                          REFRESH_DURATION)

    def theirs() -> dict[str, float]:
        script = refresh_script(work, peer.client_id, peer.seed("refresh", TOKENS), "oidc-provider")
        return wrk_script(f"{peer.url}/token", script, REFRESH_DURATION)

    compare(
        f"{TITLE}: refresh grant with rotation, wrk -c{CONNECTIONS} -d{REFRESH_DURATION}",
        1.0,
        ("oidc-provider (baseline)", theirs),
        ("ours, SQLite", mine),
    )

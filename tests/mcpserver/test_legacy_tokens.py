"""A patient's pasted token from before the move works at the MCP server (through
introspection) while its imported record is live, and stops when it is revoked."""

from __future__ import annotations

from pathlib import Path

from tests.databases import Databases
from tests.harness import start_stack
from tests.legacy_jwts import LEGACY_SECRET, import_records, legacy_jwt, record
from tests.mcpserver.helpers import call, rpc


def test_a_legacy_jwt_calls_a_tool_until_revoked(databases: Databases, tmp_path: Path) -> None:
    with start_stack(databases, cache_ttl=0, legacy_token_secret=LEGACY_SECRET) as stack:
        account = stack.auth.account()
        import_records(stack.auth, tmp_path / "t.jsonl", [
            record("tok-7", account.email, scopes="read:profile read:data")
        ])
        token = legacy_jwt("tok-7")
        profile = call(stack, token, "get_my_profile", {})
        assert account.email in str(profile), profile
        [(grant, _)] = stack.auth.store.personal_tokens(account.id, stack.auth.clock())
        stack.auth.store.revoke_grant(grant.id, stack.auth.clock())
        refused = rpc(stack, token, "tools/call", {"name": "get_my_profile", "arguments": {}})
        assert refused.status_code == 401
        assert "invalid_token" in refused.headers["www-authenticate"]

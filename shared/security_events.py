"""The revocation feed's event types, as the authorization server sends them and the MCP
server reads them (RFC 8417 Security Event Tokens, polled per RFC 8936): the Shared Signals
Framework's where one fits, RFC 8417-style URIs of our own where none does."""

from __future__ import annotations

# A grant revoked: the session of a user (iss_sub) with an application (opaque client_id).
SESSION_REVOKED = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
# An account disabled: every token of the user (iss_sub).
ACCOUNT_DISABLED = "https://schemas.openid.net/secevent/risc/event-type/account-disabled"
# The account's role or hospitals changed (iss_sub, and the new values in `claims`): its
# tokens' cached answers claim more than it now holds.
TOKEN_CLAIMS_CHANGE = "https://schemas.openid.net/secevent/caep/event-type/token-claims-change"
# One access token revoked (RFC 7009, or the account page's own), named by the SHA-256 of its
# value (opaque): SSF's token events change claims, none ends one token.
TOKEN_REVOKED = "urn:hospiai:secevent:token-revoked"
# Every token of a client ended (blocked, deleted, its consent withdrawn): the client_id
# (opaque); SSF has no event for an application.
CLIENT_REVOKED = "urn:hospiai:secevent:client-revoked"
# The path of the feed's poll endpoint on the authorization server.
PATH = "/security-events"
# The feed's refusal of a position it never issued (RFC 8936 section 2.4.4, invalid_request):
# its database was restored from a backup or reset, and will give those jtis to new events.
# The receiver starts again without a position on this refusal, and only on this one.
UNKNOWN_POSITION = ("The acknowledged jti is newer than any event this feed has issued: poll "
                    "again without it.")

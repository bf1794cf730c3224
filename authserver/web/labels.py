"""What pages call the stored values people read, in their language: roles, kinds of client,
the built-in clients (whose names the migrations store in English), the audit log's events, and
the MCP tools and outcomes the health-data access log records (the MCP server logs their English
names)."""

from __future__ import annotations

from authserver.messages import CATALOGUE, N_
from authserver.models import ACCOUNT_PAGE_CLIENT_ID, PERSONAL_CLIENT_ID, Client

ROLE_NAMES = {"patient": N_("patient"), "staff": N_("staff"), "admin": N_("admin")}
CLIENT_KINDS = {
    "dynamic": N_("dynamic registration"),
    "preregistered": N_("pre-registered"),
    "metadata_document": N_("metadata document"),
    "personal": N_("built in"),
}
# Every event the code writes to the audit log (tests/authserver/test_audit_labels.py reads
# them from the calls that write it); the audit page shows the name beside, as IT searches it.
AUDIT_EVENTS = {
    "accounts.imported": N_("Accounts imported"),
    "admin.account_created": N_("Admin created an account"),
    "admin.account_disabled": N_("Admin disabled or re-enabled an account"),
    "admin.account_logged_out_everywhere": N_("Admin logged an account out everywhere"),
    "admin.account_password_reset": N_("Admin reset a password"),
    "admin.account_role_changed": N_("Admin changed an account's role"),
    "admin.client_approved": N_("Admin changed a client's approval for everyone"),
    "admin.client_blocked": N_("Admin blocked or unblocked a client"),
    "admin.client_deleted": N_("Admin deleted a client"),
    "admin.factors_reset": N_("Admin reset two-step sign-in"),
    "admin.grant_revoked": N_("Admin revoked a grant"),
    "admin.membership_added": N_("Admin added a hospital membership"),
    "admin.membership_removed": N_("Admin removed a hospital membership"),
    "admin.resource_server_created": N_("Admin added a resource server"),
    "admin.resource_server_rotated": N_("Admin rotated a resource server's credentials"),
    "client.registered": N_("Client registered"),
    "code.pkce_failed": N_("Authorization code refused: PKCE check failed"),
    "code.reuse_detected": N_("Authorization code used twice"),
    "consent.given": N_("Consent given"),
    "consent.refused": N_("Consent refused"),
    "consent.remembered": N_("Consent remembered"),
    "factor.enrolled": N_("Second factor added"),
    "factor.enrolment_failed": N_("Second factor not added"),
    "factor.removed": N_("Second factor removed"),
    "grant.revoked": N_("App disconnected by its user"),
    "login.failed": N_("Login failed"),
    "login.succeeded": N_("Logged in"),
    "login.throttled": N_("Login paused after too many failures"),
    "passkey.failed": N_("Passkey refused"),
    "refresh_token.reuse_detected": N_("Spent refresh token used again"),
    "second_factor.failed": N_("Two-step sign-in code refused"),
    "second_factor.succeeded": N_("Two-step sign-in completed"),
    "second_factor.throttled": N_("Two-step sign-in paused after too many failures"),
    "session.ended": N_("Session ended"),
    "token.issued": N_("Token issued"),
    "token.refreshed": N_("Token refreshed"),
    "token.revoked": N_("Token revoked"),
    "tokens.imported": N_("Tokens imported"),
}
# The MCP server's logged tools (mcpserver/tools, logged=...): a tool added there and not here
# shows its own name, spaced out.
ACCESS_TOOLS = {
    "book_appointment": N_("booked an appointment"),
    "cancel_appointment": N_("cancelled an appointment"),
    "list_my_appointments": N_("listed your appointments"),
    "get_my_profile": N_("read your profile"),
    "get_my_medical_records": N_("listed your medical records"),
    "get_my_medical_record": N_("read a medical record"),
    "open_slots": N_("opened appointment slots"),
    "close_slot": N_("closed an appointment slot"),
    "save_doctor": N_("saved a doctor's details"),
    "list_hospital_appointments": N_("listed the hospital's appointments"),
    "update_hospital_status": N_("updated the hospital's status"),
    "mark_appointment": N_("marked an appointment"),
    "add_consultation_note": N_("added a consultation note"),
}
# mcpserver/access_log.py's outcomes besides "ok".
ACCESS_OUTCOMES = {"refused": N_("refused"), "failed": N_("failed"), "cancelled": N_("cancelled")}
_BUILT_IN = {
    PERSONAL_CLIENT_ID: N_("Personal access tokens"),
    ACCOUNT_PAGE_CLIENT_ID: N_("Your HospiAI account page"),
}


def client_name(client: Client) -> str:
    """A client's name as registered, a built-in one's in the page's language (a registered
    name is never translated: it is the client's own)."""
    built_in = _BUILT_IN.get(client.client_id)
    return CATALOGUE.gettext(built_in) if built_in else client.client_name

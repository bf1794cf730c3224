"""What pages call the stored values people read, in their language: roles, kinds of client,
the built-in clients (whose names the migrations store in English), and the MCP tools and
outcomes the health-data access log records (the MCP server logs their English names)."""

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

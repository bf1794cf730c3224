"""What pages call the stored values people read, in their language: roles, kinds of client,
and the built-in clients (whose names the migrations store in English)."""

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
_BUILT_IN = {
    PERSONAL_CLIENT_ID: N_("Personal access tokens"),
    ACCOUNT_PAGE_CLIENT_ID: N_("Your HospiAI account page"),
}


def client_name(client: Client) -> str:
    """A client's name as registered, a built-in one's in the page's language (a registered
    name is never translated: it is the client's own)."""
    built_in = _BUILT_IN.get(client.client_id)
    return CATALOGUE.gettext(built_in) if built_in else client.client_name

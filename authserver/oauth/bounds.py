"""What a client may register (RFC 7591 section 2, CIMD section 4): how large its metadata,
each field and each list may be, and which characters its name may hold."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from typing import Any

from authserver.oauth.errors import InvalidClientMetadataError, InvalidRedirectURIError

# What a client registers is stored, and shown on the consent and admin pages, so the whole of
# it, every string (every item of a list) and every list are bounded, far above what real
# clients send (Claude, VS Code, Cursor, ChatGPT: one to three redirect URIs, names under 30
# characters, documents under 1 KB).
MAX_METADATA_BYTES = 32 * 1024
MAX_LIST_ITEMS = 10
_URI = 2000
MAX_LENGTHS = {
    "client_name": 100, "client_uri": _URI, "logo_uri": _URI, "tos_uri": _URI,
    "policy_uri": _URI, "jwks_uri": _URI, "redirect_uris": _URI, "scope": 1000,
    "contacts": 320, "software_id": 200, "software_version": 200,
    "token_endpoint_auth_method": 50, "grant_types": 50, "response_types": 50,
}
# Unicode categories refused in a client name: controls (Cc), format characters (Cf: the
# bidirectional overrides and isolates such as U+202E, zero-width spaces and joiners),
# surrogates (Cs, which JSON escapes can carry) and line or paragraph separators (Zl, Zp).
_REFUSED_IN_NAME = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# Letters and symbols that render as nothing: the Hangul fillers and the blank Braille pattern.
_BLANK = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def check_size(metadata: Mapping[str, Any]) -> None:
    """The whole of it, unknown fields included: the registration body or the document."""
    try:
        size = len(json.dumps(metadata))
    except RecursionError:
        raise InvalidClientMetadataError("The client metadata is nested too deeply.") from None
    if size > MAX_METADATA_BYTES:
        raise InvalidClientMetadataError(
            f"The client metadata must be at most {MAX_METADATA_BYTES} bytes."
        )


def check_lengths(metadata: Mapping[str, Any]) -> None:
    """Every list and every string (every string of a list); what is of another type is left
    to the type checks."""
    for name, limit in MAX_LENGTHS.items():
        value = metadata.get(name)
        # The redirect URIs are the one field whose error has its own code (RFC 7591 3.2.2).
        error = InvalidRedirectURIError if name == "redirect_uris" else InvalidClientMetadataError
        items = value if isinstance(value, list) else [value]
        if len(items) > MAX_LIST_ITEMS:
            raise error(f"{name} must have at most {MAX_LIST_ITEMS} entries.")
        if any(isinstance(item, str) and len(item) > limit for item in items):
            raise error(f"{name} must be at most {limit} characters (each).")


def check_name(name: str) -> None:
    """A client name is the consent page's heading: nothing in it may reorder or hide what is
    shown around it, and something of it must be visible."""
    if any(unicodedata.category(c) in _REFUSED_IN_NAME for c in name):
        raise InvalidClientMetadataError(
            "client_name must not contain control, format or bidirectional characters."
        )
    if all(c.isspace() or c in _BLANK or unicodedata.category(c)[0] == "M" for c in name):
        raise InvalidClientMetadataError("client_name must contain a visible character.")

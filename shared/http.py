"""HTTP details both services share."""

from __future__ import annotations

# Answers that carry tokens or account state are never cached (RFC 6749 section 5.1).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

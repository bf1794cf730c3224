"""Time as both services read it: Unix seconds for storage, Europe/Paris for people."""

from __future__ import annotations

import time
from zoneinfo import ZoneInfo

# HospiAI's hospitals and patients are French: every time shown to a person is Paris time.
PARIS = ZoneInfo("Europe/Paris")


def unix_now() -> int:
    return int(time.time())

"""Password hashing runs on at most one thread per core, however many logins are in flight."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

from authserver.security import Passwords


def test_concurrent_verifications_share_one_thread_per_core() -> None:
    passwords = Passwords(time_cost=1, memory_cost=1024)
    stored = passwords.hash("correct horse battery")
    with ThreadPoolExecutor(16) as logins:
        results = list(logins.map(
            lambda i: passwords.verify(stored if i % 2 else None, "correct horse battery"),
            range(32),
        ))
    assert results == [bool(i % 2) for i in range(32)]
    hashing = [t for t in threading.enumerate() if t.name.startswith("argon2")]
    assert 1 <= len(hashing) <= (os.cpu_count() or 1)

"""``python -m authserver`` and ``hospiai authserver``: the AS, from the environment."""

from __future__ import annotations

import sys

from authserver.app import create_app
from authserver.settings import Settings
from shared.serving import run


def main(log_level: str = "info") -> int:
    return run(create_app, Settings.from_env, log_level)


if __name__ == "__main__":
    sys.exit(main())

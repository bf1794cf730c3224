"""``python -m mcpserver`` and ``hospiai mcpserver``: the MCP server, from the environment."""

from __future__ import annotations

import sys

from mcpserver.app import create_app
from mcpserver.settings import Settings
from shared.serving import run


def main(log_level: str = "info") -> int:
    return run(create_app, Settings.from_env, log_level)


if __name__ == "__main__":
    sys.exit(main())

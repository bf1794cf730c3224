"""``python -m mcpserver`` and ``hospiai mcpserver``: the MCP server, from the environment."""

from __future__ import annotations

import sys

from mcpserver.app import create_app
from mcpserver.settings import Settings
from shared import logs
from shared.migrations import SchemaError
from shared.serving import serve
from shared.settings import SettingsError, environ


def main() -> int:
    logs.configure(structured=True)
    try:
        settings = Settings.from_env(environ())
    except SettingsError as error:
        print(f"hospiai: configuration error: {error}", file=sys.stderr)
        return 2
    try:
        serve(create_app(settings), settings)
    except SchemaError as error:
        print(f"hospiai: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

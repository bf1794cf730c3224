"""``python -m mcpserver``: the same as ``hospiai mcpserver``."""

import sys

from hospiai.cli import main

sys.exit(main(["mcpserver", *sys.argv[1:]]))

"""``python -m authserver``: the same as ``hospiai authserver``."""

import sys

from hospiai.cli import main

sys.exit(main(["authserver", *sys.argv[1:]]))

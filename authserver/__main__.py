"""``python -m authserver``: the same as ``hospiai authserver``."""

import sys

from authserver.cli import main

sys.exit(main(["authserver", *sys.argv[1:]]))

"""``python -m goai`` = the ``goai`` command (for when the script is not on PATH)."""

import sys

from goai.cli.parser import main

sys.exit(main())

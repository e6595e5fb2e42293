"""``python -m bench [--quick] [--only SECTIONS] [--json PATH]``."""

import sys

from .runner import main

sys.exit(main())

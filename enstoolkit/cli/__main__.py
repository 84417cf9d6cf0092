"""``python -m enstoolkit.cli``."""

import sys

from . import main

sys.exit(main())

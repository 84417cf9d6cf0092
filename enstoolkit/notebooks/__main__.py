"""``python -m enstoolkit.notebooks [NOTEBOOK ...]``: re-run the ready-made notebooks in place."""

import sys

from . import main

sys.exit(main())

"""``python -m gan_experiments``: see gan_experiments.cli."""

import sys

from .cli import main

sys.exit(main())

"""Entry point for ``python -m lava.common.schema``."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())

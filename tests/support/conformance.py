"""Where LAVA's own jobs, device dictionaries and console captures are, for the tests."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# ../shared/conformance beside the checkout (as in CI), or wherever LAVA_CONFORMANCE points.
CONFORMANCE = Path(os.environ.get("LAVA_CONFORMANCE") or ROOT.parent / "shared" / "conformance")

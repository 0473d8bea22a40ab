"""``benchmarks/`` is a top-level directory of the checkout, not an installed package, so
put the checkout first on ``sys.path`` (which also makes its ``taskworker`` the one
tested, whatever editable install the interpreter has)."""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = str(Path(__file__).resolve().parents[2])
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

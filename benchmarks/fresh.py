"""Running a snippet in a fresh interpreter, which is what a Lambda cold start is.

The child gets this checkout first on ``sys.path`` (so ``examples`` and this tree's
``taskworker`` are the ones imported) and no ``TASKWORKER_*`` or ``AWS_*`` variables, so
no AWS feature is switched on by whatever the caller's shell has set. The snippet reports
by printing one JSON document as its last line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
CLEARED_PREFIXES = ("TASKWORKER_", "AWS_")
TIMEOUT_SECONDS = 120


def run_snippet(code: str, *, stdin: str = "") -> Any:
    """Run ``code`` with ``python -c`` and return the JSON it printed last."""
    completed = subprocess.run(
        [sys.executable, "-c", code],
        input=stdin,
        capture_output=True,
        text=True,
        env=_child_environment(),
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"snippet failed ({completed.returncode}):\n{completed.stderr[-2000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _child_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(CLEARED_PREFIXES)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")]))
    return env

"""Running the ``taskworker`` command in tests: in process (CliRunner) or as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from typer.testing import CliRunner

from taskworker.cli import app as cli


def invoke(*args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)


def taskworker(*args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    """The command in a fresh process with only ``env`` (none of this machine's AWS settings)."""
    return subprocess.run(
        [sys.executable, "-m", "taskworker.cli", *args],
        env={
            "PATH": os.environ["PATH"],
            "HOME": "/nonexistent",  # no ~/.aws of this machine
            "AWS_EC2_METADATA_DISABLED": "true",  # no instance-metadata lookups
            "PYTHONPATH": os.pathsep.join(sys.path),
            **env,
        },
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line(done: Any) -> str:
    """The single stderr line of a failed run (and proof that there is no traceback)."""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    return str(lines[0])

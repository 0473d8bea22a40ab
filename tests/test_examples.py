"""The runnable examples keep running."""

from __future__ import annotations

import re
import subprocess
import sys


def test_offline_demo_shows_every_outcome() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "examples.offline_demo"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout
    assert lines.count("succeeded") == 3
    assert "sent to the DLQ -> MalformedJSON" in lines
    assert re.search(r"an unknown task type +returned to the queue for a retry", lines)
    assert "sent to the DLQ -> MissingTaskType" in lines
    assert "sent to the DLQ -> PermanentError" in lines
    assert lines.count("returned to the queue for a retry") == 1
    assert 'Lambda response: {"batchItemFailures": [{"itemIdentifier": ' in lines

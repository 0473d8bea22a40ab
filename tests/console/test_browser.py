"""The console as headless Chromium renders it (skipped where Chromium is not installed:
the CI does not install it; ``apt-get install chromium`` enables it)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.console.browser import CHROMIUM, dump_dom, screenshot, toured_stack
from tests.dev import dev_app

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")


def test_a_browser_sees_depths_the_failed_task_with_its_reason_and_a_screenshot(tmp_path: Path) -> None:
    submissions = [("echo.run", {"text": "fine"}), ("echo.run", {"text": "poison"})]
    with toured_stack(dev_app.app, "t-browser", submissions) as (stack, (_, poisoned)):
        dlq = dump_dom(f"{stack.console_url}/dlq")
        match = re.search(rf'<tr data-task-id="{poisoned}">(.*?)</tr>', dlq, re.S)
        assert match, dlq
        assert "poison pill" in match.group(1)
        assert _dlq_depth_seen(f"{stack.console_url}/queues", 1)
        screenshot(f"{stack.console_url}/dlq", tmp_path / "dlq.png")
    assert (tmp_path / "dlq.png").read_bytes().startswith(b"\x89PNG")


def _dlq_depth_seen(url: str, depth: int, timeout: float = 60.0) -> bool:
    """Whether the page shows the DLQ at ``depth`` within ``timeout`` (samples are up to
    the sampler's interval old)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = re.search(r'<tr data-queue="dlq">(.*?)</tr>', dump_dom(url), re.S)
        if row and f'class="num visible">{depth}<' in row.group(1):
            return True
        time.sleep(1)
    return False

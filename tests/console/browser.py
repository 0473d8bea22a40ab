"""The console in a real headless Chromium (Debian's ``chromium`` binary, no driver):
``--dump-dom`` for what a browser renders, ``--screenshot`` for the README's pictures.

``python -m tests.console.browser DIR`` runs the example app's tour on the dev stack and
writes ``queues.png``, ``dlq.png`` and ``tasks.png`` into DIR.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from taskworker.app import TaskApp
from taskworker.background_server import BackgroundServer
from taskworker.console import ConsoleConfig, create_app
from taskworker.dev import DevStack, DevStackConfig
from taskworker.dev.demo import post, wait_for
from taskworker.dev.resources import DevResources

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(*args: str) -> str:
    """Run headless Chromium once (own throwaway profile); returns its stdout."""
    assert CHROMIUM, "chromium is not installed"
    with tempfile.TemporaryDirectory() as profile:
        command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}"]
        done = subprocess.run([*command, *args], capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def dump_dom(url: str) -> str:
    return chromium("--dump-dom", url)


def screenshot(url: str, path: Path, size: str = "1100,560") -> None:
    chromium("--hide-scrollbars", f"--window-size={size}", f"--screenshot={path}", url)


@contextmanager
def toured_stack(
    app: TaskApp, prefix: str, submissions: Sequence[tuple[str, Any]]
) -> Iterator[tuple[DevStack, list[str]]]:
    """The dev stack for ``app`` after ``submissions`` (task type, payload) were posted and ended."""
    config = DevStackConfig(port=0, resources=DevResources(prefix=prefix))
    with DevStack(app, config, printer=lambda line: None) as stack:
        assert stack.api is not None
        ids = [post(stack.api.url, task_type, payload)[1]["task_id"] for task_type, payload in submissions]
        wait_for(stack.api.url, ids, timeout=60)
        yield stack, ids


def main(directory: str) -> None:
    import examples.reports
    from taskworker.dev.demo import SUBMISSIONS

    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    tour = [(task_type, payload) for task_type, payload, _ in SUBMISSIONS]
    with toured_stack(examples.reports.app, "console-shots", tour) as (stack, _):
        # A console sampling every second, watching a burst of reports drain, for the chart.
        config = ConsoleConfig(stack.app.settings, allow_changes=True, sample_interval=1.0)
        server = BackgroundServer(create_app(config), "127.0.0.1", 0)
        server.start()
        try:
            assert stack.api is not None
            for month in range(1, 13):
                post(stack.api.url, "report.generate", {"account_id": "acme", "month": f"2026-{month:02}"})
            time.sleep(12)
            for view in ("queues", "dlq", "tasks"):
                screenshot(f"{server.url}/{view}", target / f"{view}.png")
        finally:
            server.stop()


if __name__ == "__main__":
    main(sys.argv[1])

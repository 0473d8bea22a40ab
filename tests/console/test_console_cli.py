"""`taskworker console APP` as a user starts it: a subprocess on moto, stopped with SIGTERM."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import httpx

from tests.moto_env import MotoQueues


def test_the_command_serves_the_console_behind_its_token_and_stops_on_sigterm(
    moto_queues: MotoQueues,
) -> None:
    command = [sys.executable, "-m", "taskworker", "console", "examples.reports:app", "--port", "0"]
    process = subprocess.Popen(
        [*command, "--token", "s3cret"],
        env=moto_queues.env(TASKWORKER_CONSOLE_TOKEN=""),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"at (http://127\.0\.0\.1:\d+) \(read-only\)", first)
        assert match, first + (process.stderr.read() if process.poll() is not None else "")  # type: ignore[union-attr]
        url = match.group(1)
        assert "s3cret" not in first  # a token the user chose is not echoed
        assert httpx.get(f"{url}/queues", timeout=30).status_code == 401
        page = httpx.get(f"{url}/queues?token=s3cret", timeout=30)
        assert page.status_code == 200
        assert moto_queues.queue_url in page.text
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def test_help_lists_the_safety_options() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "taskworker", "console", "--help"], capture_output=True, text=True, check=True
    )
    for option in ("--allow-changes", "--token", "--host", "--port", "--interval"):
        assert option in result.stdout

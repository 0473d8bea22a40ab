"""Running the ``taskworker`` command in tests: in process (CliRunner) or as a user runs it."""

from __future__ import annotations

import json
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


def receive_all(sqs: Any, url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=30
    ).get("Messages", []):
        messages += batch
    return messages


def put_dead_letters(sqs: Any, dlq_url: str, count: int) -> None:
    for start in range(0, count, 10):
        entries = []
        for n in range(start, min(count, start + 10)):
            attributes = {"task_type": "report.notify", "error_type": "PermanentError"}
            attributes |= {"error_message": f"failure {n}", "failed_at": "2026-01-01T00:00:00.000Z"}
            entries.append(
                {
                    "Id": str(n - start),
                    "MessageBody": json.dumps({"email": f"u{n}@x.y", "subject": str(n)}),
                    "MessageAttributes": {
                        k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()
                    },
                }
            )
        assert not sqs.send_message_batch(QueueUrl=dlq_url, Entries=entries).get("Failed")

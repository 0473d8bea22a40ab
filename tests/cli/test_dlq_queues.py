"""``taskworker dlq list|show|redrive --queue NAME``: each queue's own DLQ, redriven to that queue."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from taskworker.cli import app as cli
from tests.moto_env import AWS_ENV
from tests.worker.helpers import make_queues, queue_depth

runner = CliRunner()


@pytest.fixture
def lanes(moto_endpoint: str, moto_sqs: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Two queues with their own DLQs, named to the CLI by TASKWORKER_QUEUE_URLS only."""
    prefix = f"d-{uuid.uuid4().hex[:8]}"
    queues = {name: make_queues(moto_sqs, f"{prefix}-{name}") for name in ("default", "long")}
    for key, value in {**AWS_ENV, "AWS_ENDPOINT_URL": moto_endpoint}.items():
        monkeypatch.setenv(key, value)
    for key in ("TASKWORKER_QUEUE_URL", "TASKWORKER_DLQ_URL", "TASKWORKER_QUEUE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("TASKWORKER_QUEUE_URLS", json.dumps({name: q[0] for name, q in queues.items()}))
    monkeypatch.setattr("taskworker.cli.out", Console(width=250))
    return {"sqs": moto_sqs, "queues": queues}


def dead_letter(sqs: Any, dlq_url: str, task_id: str) -> None:
    attributes = {"task_id": task_id, "task_type": "video.transcode", "error_type": "PermanentError"}
    sqs.send_message(
        QueueUrl=dlq_url,
        MessageBody='{"video_url": "s3://a.mov"}',
        MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    )


def invoke(*args: str) -> Any:
    return runner.invoke(cli, list(args), catch_exceptions=False)


def test_list_and_show_read_the_named_queues_dlq(lanes: dict[str, Any]) -> None:
    dead_letter(lanes["sqs"], lanes["queues"]["long"][1], "task-long-1")

    listed = invoke("dlq", "list", "--queue", "long")
    assert listed.exit_code == 0, listed.output
    assert "task-long-1" in listed.stdout
    default = invoke("dlq", "list")  # the default queue's DLQ: empty
    assert default.exit_code == 0, default.output
    assert "task-long-1" not in default.stdout
    assert "0 shown" in default.stdout
    shown = invoke("dlq", "show", "task-long-1", "--queue", "long")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["error"]["type"] == "PermanentError"


def test_redrive_sends_a_queues_dead_letters_back_to_that_queue(lanes: dict[str, Any]) -> None:
    sqs, (long_url, long_dlq), (default_url, _) = (
        lanes["sqs"],
        lanes["queues"]["long"],
        lanes["queues"]["default"],
    )
    dead_letter(sqs, long_dlq, "task-long-2")

    result = invoke("dlq", "redrive", "--queue", "long", "--manual")

    assert result.exit_code == 0, result.output
    assert "redrove 1 messages" in result.stdout
    assert queue_depth(sqs, long_url) == (1, 0)
    assert queue_depth(sqs, default_url) == (0, 0)
    assert queue_depth(sqs, long_dlq) == (0, 0)


def test_an_unknown_queue_is_one_line_naming_the_known_ones(lanes: dict[str, Any]) -> None:
    result = invoke("dlq", "list", "--queue", "lung")
    assert result.exit_code == 2
    assert "unknown queue 'lung': TASKWORKER_QUEUE_URLS names default, long" in result.stderr
    assert "Traceback" not in result.output

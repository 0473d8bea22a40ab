"""Result events, status items, metrics and middleware assembly, offline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from taskworker import ErrorInfo, Failed, RetryLater, Settings, Succeeded, TaskApp, TaskResult
from taskworker.aws.batch import RetryPolicy
from taskworker.messages import MAX_EVENT_BYTES, TaskMessage
from taskworker.middleware.metrics import TaskMetrics
from taskworker.middleware.results import ResultEvents, build_event
from taskworker.status import TaskStatus
from taskworker.testing.faults import FaultyClient

ROOT = Path(__file__).resolve().parents[2]


class Out(BaseModel):
    text: str


def _result(
    outcome: object, task_type: str = "t.a", task_id: str = "m-1", app: TaskApp | None = None
) -> TaskResult:
    message = TaskMessage(task_id=task_id, body="{}", attributes={"task_type": task_type}, receive_count=2)
    task = app.registry.get(task_type) if app else None
    return TaskResult(message, outcome, task, 12.5, started_at=1_700_000_000.0)  # type: ignore[arg-type]


def test_event_body_has_the_documented_fields() -> None:
    event = build_event(_result(Succeeded(Out(text="hi"))))
    body = json.loads(event.body())
    assert body == {
        "task_id": "m-1",
        "task_type": "t.a",
        "status": "succeeded",
        "attempt": 2,
        "started_at": "2023-11-14T22:13:20.000Z",
        "finished_at": "2023-11-14T22:13:20.012Z",
        "duration_ms": 12.5,
        "result": {"text": "hi"},
    }
    assert event.attributes() == {"task_type": "t.a", "status": "succeeded"}


def test_failed_event_carries_the_error() -> None:
    body = json.loads(build_event(_result(Failed(ErrorInfo("Boom", "it broke")))).fitting_body())
    assert body["status"] == "failed"
    assert body["error"] == {"type": "Boom", "message": "it broke"}
    assert "result" not in body


def test_too_large_result_is_omitted() -> None:
    event = build_event(_result(Succeeded(Out(text="x" * MAX_EVENT_BYTES))))
    body = json.loads(event.fitting_body())
    assert body["result_omitted"] == "too_large"
    assert "result" not in body


class _NullLogger:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def log(self, level: int, msg: object, *args: object, **kwargs: object) -> None:
        self.lines.append(str(msg))


class _RecordingSns:
    def __init__(self) -> None:
        self.calls: list[list[dict[str, object]]] = []

    def publish_batch(self, **request: list[dict[str, object]]) -> dict[str, object]:
        entries = request["PublishBatchRequestEntries"]
        self.calls.append(entries)
        return {"Successful": [{"Id": e["Id"], "MessageId": "x"} for e in entries], "Failed": []}


NO_WAIT = RetryPolicy(attempts=2, sleep=lambda seconds: None)


def test_only_finished_tasks_publish_and_persistent_failures_requeue_successes_only() -> None:
    sns = FaultyClient(_RecordingSns())
    sns.fail_next("PublishBatch", entries=1_000)
    logger = _NullLogger()
    publisher = ResultEvents("arn:aws:sns:us-east-1:1:t", lambda: sns, logger=logger, policy=NO_WAIT)
    ok = _result(Succeeded(None), task_id="a")
    failed = _result(Failed(ErrorInfo("E", "m")), task_id="b")
    retry = _result(RetryLater(ErrorInfo("E", "m")), task_id="c")

    publisher.after_batch([ok, failed, retry])

    assert sns.calls["PublishBatch"] == 2
    assert sns.failed_entries == 4  # two events, two attempts
    assert isinstance(ok.outcome, RetryLater)
    assert ok.outcome.error.type == "ResultEventNotPublished"
    assert isinstance(failed.outcome, Failed)  # kept for the next batch: the DLQ already holds it
    assert len(publisher.backlog) == 1
    assert len(logger.lines) == 2


def test_fifo_entries_have_group_and_stable_deduplication_ids() -> None:
    app = TaskApp("f")

    @app.task("t.a", message_group="tenant")
    def a(x: Out) -> None: ...

    publisher = ResultEvents("arn:aws:sns:us-east-1:1:t.fifo", lambda: None, logger=_NullLogger())
    entry = publisher.event(_result(Succeeded(None), app=app))
    again = publisher.event(_result(Succeeded(None), app=app))
    assert entry.request["MessageGroupId"] == "tenant"
    assert entry.request["MessageDeduplicationId"] == again.request["MessageDeduplicationId"]
    unknown = publisher.event(_result(Failed(ErrorInfo("UnknownTaskType", "")), task_type="t.zzz"))
    assert unknown.request["MessageGroupId"] == "t.zzz"


def test_status_item_round_trip_and_api_json() -> None:
    status = TaskStatus(
        task_id="m-1",
        task_type="t.a",
        status="failed",
        attempt=3,
        started_at="s",
        updated_at="u",
        expires_at=99,
        finished_at="f",
        error_type="Boom",
        error_message="it broke",
    )
    item = status.to_item()
    assert item["attempt"] == {"N": "3"}
    assert item["expires_at"] == {"N": "99"}
    assert "result" not in item
    assert TaskStatus.from_item(item) == status
    assert status.as_api_json() == {
        "task_id": "m-1",
        "task_type": "t.a",
        "status": "failed",
        "attempt": 3,
        "started_at": "s",
        "updated_at": "u",
        "finished_at": "f",
        "error": {"type": "Boom", "message": "it broke"},
    }
    done = TaskStatus("m-2", "t.a", "succeeded", 1, "s", "u", 1, finished_at="f", result='{"n":1}')
    assert done.as_api_json()["result"] == {"n": 1}


def test_metrics_flush_one_emf_blob_per_task_type(capsys: pytest.CaptureFixture[str]) -> None:
    app = TaskApp("m")

    @app.task("t.a")
    def a(x: Out) -> None: ...

    @app.task("t.b")
    def b(x: Out) -> None: ...

    results = [
        _result(Succeeded(None), "t.a", app=app),
        _result(Succeeded(None, duplicate=True), "t.a", app=app),
        _result(RetryLater(ErrorInfo("E", "")), "t.a", app=app),
        _result(Failed(ErrorInfo("E", "")), "t.b", app=app),
        _result(Failed(ErrorInfo("UnknownTaskType", "")), "t.nope"),
    ]
    TaskMetrics("Tasks").after_batch(results)

    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by_type = {blob["task_type"]: blob for blob in blobs}
    assert set(by_type) == {"t.a", "t.b", "(unknown)"}
    assert _values(by_type["t.a"], "TasksSucceeded") == [1.0]
    assert _values(by_type["t.a"], "TasksDuplicate") == [1.0]
    assert _values(by_type["t.a"], "TasksRetried") == [1.0]
    assert _values(by_type["t.a"], "TaskDuration") == [12.5, 12.5]
    assert _values(by_type["t.b"], "TasksFailed") == [1.0]
    assert "TasksFailed" not in by_type["t.a"]
    for blob in blobs:
        [directive] = blob["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "Tasks"
        assert directive["Dimensions"] == [["task_type"]]


def test_large_batches_stay_within_emf_value_limits(capsys: pytest.CaptureFixture[str]) -> None:
    app = TaskApp("m")

    @app.task("t.a")
    def a(x: Out) -> None: ...

    TaskMetrics("Tasks").after_batch([_result(Succeeded(None), "t.a", app=app) for _ in range(250)])

    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    durations = [_values(blob, "TaskDuration") for blob in blobs]
    assert sum(len(d) for d in durations) == 250
    assert max(len(d) for d in durations) <= 100
    assert sum(sum(_values(blob, "TasksSucceeded")) for blob in blobs) == 250


def _values(blob: dict[str, object], name: str) -> list[float]:
    value = blob.get(name, [])
    return list(value) if isinstance(value, list) else [float(value)]  # type: ignore[arg-type]


def test_features_are_off_without_settings_and_ordered_with_them() -> None:
    assert [type(m).__name__ for m in TaskApp("x", settings=Settings()).middleware()] == [
        "FollowUps",  # ctx.submit; it applies only to tasks that take a ctx
        "InProcessRetries",
    ]
    settings = Settings(
        result_topic_arn="arn:aws:sns:us-east-1:1:t",
        status_table="s",
        idempotency_table="i",
        metrics_namespace="n",
    )
    names = [type(m).__name__ for m in TaskApp("x", settings=settings).middleware()]
    assert names == [
        "FollowUps",
        "ResultEvents",
        "TaskStatusMiddleware",
        "TaskMetrics",
        "Idempotency",
        "InProcessRetries",
    ]


def test_the_example_imports_no_boto3_even_with_every_feature_configured() -> None:
    code = (
        "import sys, examples.reports as r\n"
        "r.app.middleware(); r.app.dispatcher\n"
        "print('boto3' in sys.modules)\n"
    )
    env = {
        "PYTHONPATH": str(ROOT),
        "TASKWORKER_RESULT_TOPIC_ARN": "arn:aws:sns:us-east-1:1:t",
        "TASKWORKER_STATUS_TABLE": "s",
        "TASKWORKER_IDEMPOTENCY_TABLE": "i",
        "TASKWORKER_METRICS_NAMESPACE": "n",
    }
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_dead_letter_attributes_keep_the_reason_within_sqs_attribute_limit() -> None:
    from taskworker.messages import MAX_MESSAGE_ATTRIBUTES, dead_letter_attributes

    attributes = {f"custom{i}": "v" for i in range(9)}
    attributes.update(task_type="t.a", correlation_id="c", idempotency_key="k")
    message = TaskMessage(task_id="m", body="{}", attributes=attributes)

    dead = {
        name: value["StringValue"]
        for name, value in dead_letter_attributes(message, "Boom", "it broke").items()
    }

    assert len(dead) == MAX_MESSAGE_ATTRIBUTES
    assert dead["task_id"] == "m"
    assert dead["error_type"] == "Boom"
    assert dead["error_message"] == "it broke"
    assert dead["task_type"] == "t.a"
    assert (dead["correlation_id"], dead["idempotency_key"]) == ("c", "k")
    assert "failed_at" in dead

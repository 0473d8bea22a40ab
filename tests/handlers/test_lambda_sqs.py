"""The Lambda runtime: events in, batchItemFailures out, never an exception."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from pydantic import BaseModel

from taskworker import PermanentError, RetryableError, Settings, TaskApp
from taskworker.aws import Clients
from taskworker.aws.batch import DEFAULT_POLICY
from taskworker.testing import (
    FakeSQS,
    ManualClock,
    lambda_context,
    receive_lambda_event,
    sqs_event,
    sqs_record,
)


class Job(BaseModel):
    n: int


def build_app(settings: Settings | None = None, sqs: FakeSQS | None = None, **kwargs: Any) -> TaskApp:
    app = TaskApp("jobs", settings=settings or Settings(), clients=Clients(sqs=sqs or FakeSQS()), **kwargs)
    ran: list[int] = []
    app.ran = ran  # type: ignore[attr-defined]

    @app.task("job.run", timeout=1)
    def run(job: Job) -> None:
        if job.n < 0:
            raise PermanentError("negative")
        if job.n == 13:
            raise ConnectionError("unlucky")
        ran.append(job.n)

    @app.task("job.throttled")
    def throttled(job: Job) -> None:
        raise RetryableError("slow down", delay=30)

    return app


def failures(response: dict[str, Any]) -> list[str]:
    assert set(response) == {"batchItemFailures"}
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


def test_all_successes_report_no_failures() -> None:
    app = build_app()
    records = [sqs_record({"n": i}, task_type="job.run") for i in range(10)]
    assert failures(app.lambda_handler(sqs_event(records), lambda_context())) == []
    assert app.ran == list(range(10))  # type: ignore[attr-defined]


def test_each_kind_of_bad_record_is_reported_and_the_rest_of_the_batch_runs() -> None:
    app = build_app()
    good = [sqs_record({"n": 1}, task_type="job.run"), sqs_record({"n": 2}, task_type="job.run")]
    bad = [
        sqs_record(body="{not json", task_type="job.run"),
        sqs_record({"n": 1}),
        sqs_record({"n": 1}, task_type="job.nope"),
        sqs_record({"n": "x"}, task_type="job.run"),
        sqs_record({"n": -1}, task_type="job.run"),
        sqs_record({"n": 13}, task_type="job.run"),
    ]
    event = sqs_event([good[0], *bad, good[1]])
    response = app.lambda_handler(event, lambda_context())
    assert failures(response) == [r["messageId"] for r in bad]
    assert app.ran == [1, 2]  # type: ignore[attr-defined]


def test_a_batch_where_every_record_fails_is_returned_not_raised() -> None:
    app = build_app()
    records = [sqs_record(body="nope", task_type="job.run") for _ in range(3)]
    assert failures(app.lambda_handler(sqs_event(records), lambda_context())) == [
        r["messageId"] for r in records
    ]


@pytest.mark.parametrize(
    "event", [None, {}, {"Records": "x"}, [], "text", {"detail-type": "Scheduled Event"}]
)
def test_an_event_that_is_not_sqs_is_logged_and_reports_nothing(
    event: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app = build_app(logger=logging.getLogger("test.lambda"))
    with caplog.at_level(logging.ERROR, logger="test.lambda"):
        assert app.lambda_handler(event, lambda_context()) == {"batchItemFailures": []}
    assert "not an SQS event" in caplog.text


def test_record_without_message_id_is_reported_by_what_it_has_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = build_app(logger=logging.getLogger("test.lambda"))
    orphan = sqs_record({"n": 5}, task_type="job.run")
    del orphan["messageId"]
    fine = sqs_record({"n": 6}, task_type="job.run")
    with caplog.at_level(logging.ERROR, logger="test.lambda"):
        response = app.lambda_handler(sqs_event([orphan, fine]), lambda_context())
    assert failures(response) == [orphan["receiptHandle"]]
    assert app.ran == [6]  # type: ignore[attr-defined]
    assert "without messageId" in caplog.text


def test_records_that_are_not_mappings_do_not_break_the_batch() -> None:
    app = build_app()
    fine = sqs_record({"n": 6}, task_type="job.run")
    response = app.lambda_handler({"Records": ["garbage", 42, fine]}, lambda_context())
    assert failures(response) == ["", ""]  # no id at all: Lambda retries the batch, nothing is lost
    assert app.ran == [6]  # type: ignore[attr-defined]


def test_deadline_guard_stops_starting_tasks_when_time_runs_out_mid_batch() -> None:
    clock = ManualClock()
    settings = Settings(deadline_margin_seconds=1, settle_seconds=0)  # the settle reserve: tested apart
    app = TaskApp("slow", settings=settings, clients=Clients(sqs=FakeSQS()))
    started: list[int] = []

    @app.task("slow.step", timeout=4)
    def step(job: Job) -> None:
        started.append(job.n)
        clock.advance(3)  # each task takes 3 s of the invocation's time

    records = [sqs_record({"n": i}, task_type="slow.step") for i in range(5)]
    context = lambda_context(timeout_ms=12_000, clock=clock)
    response = app.lambda_handler(sqs_event(records), context)
    # 12 s budget; each start needs timeout 4 + margin 1 = 5 s left: starts at 12 s and 9 s,
    # then 6 s left (starts), then 3 s left (refused) -> the last two never started.
    assert started == [0, 1, 2]
    assert failures(response) == [r["messageId"] for r in records[3:]]


def test_fifo_failure_stops_the_rest_of_its_group_only() -> None:
    app = build_app()
    queue = "jobs.fifo"
    a1 = sqs_record({"n": 1}, task_type="job.run", queue=queue, group_id="a")
    a2 = sqs_record({"n": 13}, task_type="job.run", queue=queue, group_id="a")
    b1 = sqs_record({"n": 2}, task_type="job.run", queue=queue, group_id="b")
    a3 = sqs_record({"n": 3}, task_type="job.run", queue=queue, group_id="a")
    b2 = sqs_record({"n": 4}, task_type="job.run", queue=queue, group_id="b")
    response = app.lambda_handler(sqs_event([a1, a2, b1, a3, b2]), lambda_context())
    assert failures(response) == [a2["messageId"], a3["messageId"]]
    assert app.ran == [1, 2, 4]  # type: ignore[attr-defined]


def test_fifo_batch_where_the_first_record_fails_does_not_raise() -> None:
    app = build_app()
    records = [sqs_record({"n": 13}, task_type="job.run", group_id="g") for _ in range(2)]
    assert failures(app.lambda_handler(sqs_event(records), lambda_context())) == [
        r["messageId"] for r in records
    ]


def _queue_pair(sqs: FakeSQS, max_receives: int = 5) -> tuple[str, str]:
    dlq = sqs.create_queue(QueueName="jobs-dlq")["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": sqs.queue_arn(dlq), "maxReceiveCount": max_receives})
    queue = sqs.create_queue(QueueName="jobs", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    return queue, dlq


def _send(sqs: FakeSQS, queue: str, task_type: str | None, body: str) -> str:
    attributes = {"task_type": {"DataType": "String", "StringValue": task_type}} if task_type else {}
    return str(sqs.send_message(QueueUrl=queue, MessageBody=body, MessageAttributes=attributes)["MessageId"])


def test_permanent_failure_counts_as_processed_only_once_it_is_in_the_dlq() -> None:
    clock = ManualClock()
    sqs = FakeSQS(clock=clock)
    queue, dlq = _queue_pair(sqs)
    app = build_app(Settings(dlq_url=dlq), sqs=sqs)
    bad = _send(sqs, queue, "job.run", '{"n": -1}')
    sqs.fail_next(
        "SendMessageBatch", count=DEFAULT_POLICY.attempts
    )  # the DLQ is unreachable for every attempt
    response = app.lambda_handler(receive_lambda_event(sqs, queue), lambda_context())
    assert failures(response) == [bad]
    assert "Messages" not in sqs.receive_message(QueueUrl=dlq)

    clock.advance(31)  # visibility timeout passes: Lambda would receive it again
    response = app.lambda_handler(receive_lambda_event(sqs, queue), lambda_context())
    assert failures(response) == []
    moved = sqs.receive_message(QueueUrl=dlq, MessageAttributeNames=["All"])["Messages"]
    assert [m["MessageId"] != bad for m in moved] == [True]
    assert moved[0]["Body"] == '{"n": -1}'
    reason = {k: v["StringValue"] for k, v in moved[0]["MessageAttributes"].items()}
    assert reason["error_type"] == "PermanentError"
    assert reason["error_message"] == "negative"
    assert reason["task_type"] == "job.run"
    assert reason["failed_at"].endswith("Z")


def test_dlq_entry_failure_is_retried_within_the_batch() -> None:
    sqs = FakeSQS()
    queue, dlq = _queue_pair(sqs)
    app = build_app(Settings(dlq_url=dlq), sqs=sqs)
    _send(sqs, queue, None, "{}")
    sqs.fail_next("SendMessageBatch", entries={"0"})
    assert failures(app.lambda_handler(receive_lambda_event(sqs, queue), lambda_context())) == []
    assert len(sqs.receive_message(QueueUrl=dlq)["Messages"]) == 1


def test_without_a_dlq_permanent_failures_go_back_to_the_queue() -> None:
    sqs = FakeSQS()
    queue, _ = _queue_pair(sqs)
    app = build_app(sqs=sqs)
    bad = _send(sqs, queue, "job.nope", "{}")
    assert failures(app.lambda_handler(receive_lambda_event(sqs, queue), lambda_context())) == [bad]


def test_retry_delay_is_applied_to_the_message_visibility() -> None:
    clock = ManualClock()
    sqs = FakeSQS(clock=clock)
    queue, _ = _queue_pair(sqs)
    app = build_app(sqs=sqs)
    throttled = _send(sqs, queue, "job.throttled", '{"n": 1}')
    assert failures(app.lambda_handler(receive_lambda_event(sqs, queue), lambda_context())) == [throttled]
    clock.advance(29)
    assert "Messages" not in sqs.receive_message(QueueUrl=queue)
    clock.advance(2)
    assert sqs.receive_message(QueueUrl=queue)["Messages"][0]["MessageId"] == throttled


def test_unstarted_task_is_made_visible_again_at_once() -> None:
    clock = ManualClock()
    sqs = FakeSQS(clock=clock)
    queue, _ = _queue_pair(sqs)
    app = build_app(sqs=sqs)
    message_id = _send(sqs, queue, "job.run", '{"n": 1}')
    response = app.lambda_handler(
        receive_lambda_event(sqs, queue), lambda_context(timeout_ms=100, clock=clock)
    )
    assert failures(response) == [message_id]
    assert sqs.receive_message(QueueUrl=queue)["Messages"][0]["MessageId"] == message_id


def test_last_allowed_attempt_is_returned_for_redrive_with_the_limit_read_once() -> None:
    clock = ManualClock()
    sqs = FakeSQS(clock=clock)
    queue, dlq = _queue_pair(sqs, max_receives=2)
    app = build_app(Settings(backoff_base_seconds=1), sqs=sqs)
    message_id = _send(sqs, queue, "job.run", '{"n": 13}')
    lookups = 0
    for _ in range(2):
        event = receive_lambda_event(sqs, queue)
        before = sqs.calls["GetQueueAttributes"]
        assert failures(app.lambda_handler(event, lambda_context())) == [message_id]
        lookups += sqs.calls["GetQueueAttributes"] - before
        clock.advance(5)
    assert "Messages" not in sqs.receive_message(QueueUrl=queue)  # redriven by SQS
    assert sqs.receive_message(QueueUrl=dlq)["Messages"][0]["MessageId"] == message_id
    assert lookups == 1  # the RedrivePolicy, read once per queue

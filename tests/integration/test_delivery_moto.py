"""Delivery guarantees end to end against moto's server: real messages, real redrive."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from moto_stack import Stack, make_stack
from pydantic import BaseModel

from taskworker import PermanentError, Retry, TaskApp, TaskContext
from taskworker.status import StatusTable, TaskStatus
from taskworker.testing.faults import FaultyClient


class Add(BaseModel):
    a: int
    b: int


class Sum(BaseModel):
    total: int


class Blob(BaseModel):
    data: str


def sns_down(stack: Stack) -> FaultyClient:
    """SNS refusing every event entry (the service's fault), past any retry."""
    sns = FaultyClient(stack.sns)
    sns.fail_next("PublishBatch", entries=1_000)
    return sns


def add_app(stack: Stack, calls: list[int], **overrides: Any) -> TaskApp:
    app = stack.app(**overrides)

    @app.task("math.add")
    def add(req: Add) -> Sum:
        calls.append(req.a + req.b)
        return Sum(total=req.a + req.b)

    return app


def test_success_publishes_one_event_and_records_status(stack: Stack) -> None:
    calls: list[int] = []
    app = add_app(stack, calls)
    task_id = stack.send("math.add", {"a": 2, "b": 3}, correlation_id="c-1")

    response = stack.deliver(app, expect=1)

    assert response == {"batchItemFailures": []}
    assert stack.visible_count() == 0
    [event] = stack.events()
    assert event["task_id"] == task_id
    assert event["task_type"] == "math.add"
    assert event["status"] == "succeeded"
    assert event["result"] == {"total": 5}
    assert event["attempt"] == 1
    assert event["correlation_id"] == "c-1"
    assert event["duration_ms"] >= 0
    assert event["started_at"] <= event["finished_at"]
    status = app.get_status(task_id)
    assert status is not None
    body = status.as_api_json()
    assert body["status"] == "succeeded"
    assert body["result"] == {"total": 5}
    assert body["attempt"] == 1
    assert set(body) == {
        "task_id",
        "task_type",
        "status",
        "attempt",
        "started_at",
        "updated_at",
        "finished_at",
        "result",
        "correlation_id",
    }
    assert body["correlation_id"] == "c-1"
    assert status.expires_at > time.time() + 6 * 24 * 3600


def test_event_attributes_drive_sns_filter_policies(stack: Stack) -> None:
    failures_url = stack.sqs.create_queue(QueueName=stack.events_url.rsplit("/", 1)[1] + "-failed")[
        "QueueUrl"
    ]
    failures_arn = stack.sqs.get_queue_attributes(QueueUrl=failures_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    stack.sns.subscribe(
        TopicArn=stack.topic_arn,
        Protocol="sqs",
        Endpoint=failures_arn,
        Attributes={"RawMessageDelivery": "true", "FilterPolicy": json.dumps({"status": ["failed"]})},
    )
    app = add_app(stack, [])
    stack.send("math.add", {"a": 1, "b": 1})
    bad_id = stack.send("math.add", {"a": "x"})

    stack.deliver(app, expect=2)

    [failed] = stack.receive(failures_url)
    assert json.loads(failed["Body"])["task_id"] == bad_id
    attributes = {k: v["StringValue"] for k, v in failed["MessageAttributes"].items()}
    assert attributes == {"task_type": "math.add", "status": "failed"}
    assert sorted(e["status"] for e in stack.events()) == ["failed", "succeeded"]


def test_redelivered_message_runs_once_and_reports_success_twice(stack: Stack) -> None:
    calls: list[int] = []
    app = add_app(stack, calls)
    task_id = stack.send("math.add", {"a": 4, "b": 4})
    [message] = stack.receive()
    from taskworker.testing import lambda_context, record_from_sqs_message

    first = app.lambda_handler(
        {"Records": [record_from_sqs_message(message, stack.queue_arn)]}, lambda_context()
    )
    assert first == {"batchItemFailures": []}
    # the delete got lost: SQS delivers the same message again
    stack.sqs.change_message_visibility(
        QueueUrl=stack.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    [again] = stack.receive()
    assert again["MessageId"] == task_id
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"

    assert stack.invoke(app, [again]) == {"batchItemFailures": []}

    assert calls == [8]
    events = stack.events()
    assert [e["status"] for e in events] == ["succeeded", "succeeded"]
    assert [e.get("duplicate", False) for e in events] == [False, True]
    assert all(e["result"] == {"total": 8} for e in events)
    status = app.get_status(task_id)
    assert status is not None
    assert (status.status, status.attempt) == ("succeeded", 2)


def test_same_idempotency_key_with_another_message_id_runs_once(stack: Stack) -> None:
    calls: list[int] = []
    app = add_app(stack, calls)
    first = stack.send("math.add", {"a": 1, "b": 2}, idempotency_key="order-7")
    second = stack.send("math.add", {"a": 1, "b": 2}, idempotency_key="order-7")
    assert first != second

    assert stack.deliver(app, expect=2) == {"batchItemFailures": []}

    assert calls == [3]
    events = {e["task_id"]: e for e in stack.events()}
    assert set(events) == {first, second}
    assert all(e["status"] == "succeeded" and e["result"] == {"total": 3} for e in events.values())
    assert sum(bool(e.get("duplicate")) for e in events.values()) == 1
    assert stack.visible_count() == 0


def test_concurrent_duplicate_is_retried_not_run_twice(stack: Stack) -> None:
    calls: list[str] = []
    started, release = threading.Event(), threading.Event()

    def slow_app() -> TaskApp:
        app = stack.app()

        @app.task("slow.job", retry=Retry(requeue_base=1.0, jitter=lambda low, high: high))
        def job(req: Add) -> Sum:
            calls.append("run")
            started.set()
            release.wait(10)
            return Sum(total=req.a)

        return app

    instance_a, instance_b = slow_app(), slow_app()  # two Lambda instances
    stack.send("slow.job", {"a": 1, "b": 0}, idempotency_key="k")
    stack.send("slow.job", {"a": 1, "b": 0}, idempotency_key="k")
    first, second = stack.receive(count=1), stack.receive(count=1)
    worker = threading.Thread(target=stack.invoke, args=(instance_a, first))
    worker.start()
    assert started.wait(10)

    response = stack.invoke(instance_b, second)

    assert response == {"batchItemFailures": [{"itemIdentifier": second[0]["MessageId"]}]}
    release.set()
    worker.join(10)
    assert calls == ["run"]
    time.sleep(1.1)  # the duplicate's retry delay
    [retry] = stack.receive()
    assert retry["MessageId"] == second[0]["MessageId"]
    assert stack.invoke(instance_b, [retry]) == {"batchItemFailures": []}
    assert calls == ["run"]
    events = stack.events()
    assert sorted(bool(e.get("duplicate")) for e in events) == [False, True]


def test_each_permanent_failure_is_dead_lettered_once_with_its_reason(stack: Stack) -> None:
    app = stack.app()

    @app.task("acct.close")
    def close(req: Add) -> None:
        raise PermanentError("account is closed")

    ids = {
        "MalformedJSON": stack.send("acct.close", body="{not json"),
        "MissingTaskType": stack.send(None, {"a": 1, "b": 2}),
        "InvalidPayload": stack.send("acct.close", {"a": "one"}),
        "PermanentError": stack.send("acct.close", {"a": 1, "b": 2}, correlation_id="c-9"),
    }

    # (an unknown task type is retried until its last receive: tests/core/test_unknown_types.py)
    assert stack.deliver(app, expect=4) == {"batchItemFailures": []}

    assert stack.visible_count() == 0
    attributes = stack.sqs.get_queue_attributes(
        QueueUrl=stack.queue_url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
    dead = stack.dead_letters()
    assert len(dead) == 4
    by_type = {m["MessageAttributes"]["error_type"]["StringValue"]: m for m in dead}
    assert set(by_type) == set(ids)
    assert by_type["MalformedJSON"]["Body"] == "{not json"
    assert by_type["MissingTaskType"]["MessageAttributes"]["task_type"]["StringValue"] == "(none)"
    closed = by_type["PermanentError"]["MessageAttributes"]
    assert closed["error_message"]["StringValue"] == "account is closed"
    assert closed["correlation_id"]["StringValue"] == "c-9"
    assert "failed_at" in closed
    events = {e["task_id"]: e for e in stack.events()}
    assert {events[task_id]["error"]["type"] for task_id in ids.values()} == set(ids)
    assert all(e["status"] == "failed" for e in events.values())
    for error_type, task_id in ids.items():
        status = app.get_status(task_id)
        assert status is not None
        assert (status.status, status.error_type) == ("failed", error_type)


def test_unreachable_dlq_keeps_the_message_on_its_queue(stack: Stack) -> None:
    app = stack.app(dlq_url=stack.queue_url.rsplit("/", 1)[0] + "/no-such-queue")

    @app.task("acct.close")
    def close(req: Add) -> None:
        raise PermanentError("closed")

    task_id = stack.send("acct.close", {"a": 1, "b": 2})

    response = stack.deliver(app, expect=1)

    assert response == {"batchItemFailures": [{"itemIdentifier": task_id}]}
    assert stack.events() == []
    status = app.get_status(task_id)
    assert status is not None
    assert (status.status, status.error_type) == ("retrying", "DeadLetterQueueUnavailable")
    hidden = stack.sqs.get_queue_attributes(
        QueueUrl=stack.queue_url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]["ApproximateNumberOfMessagesNotVisible"]
    assert hidden == "1"  # still on its queue; back after the visibility timeout
    assert stack.dead_letters() == []


def test_retry_delay_hides_the_message_for_the_computed_time(stack: Stack) -> None:
    attempts: list[int] = []
    app = stack.app()

    @app.task("flaky.job", retry=Retry(requeue_base=2.0, requeue_max=2.0, jitter=lambda low, high: high))
    def job(req: Add, ctx: TaskContext) -> Sum:
        attempts.append(ctx.attempt)
        status = app.get_status(ctx.task_id)
        assert status is not None
        assert (status.status, status.attempt) == ("running", ctx.attempt)
        if ctx.attempt == 1:
            raise ConnectionError("downstream blinked")
        return Sum(total=req.a + req.b)

    task_id = stack.send("flaky.job", {"a": 1, "b": 1})
    response = stack.deliver(app, expect=1)
    sent_back = time.monotonic()

    assert response == {"batchItemFailures": [{"itemIdentifier": task_id}]}
    status = app.get_status(task_id)
    assert status is not None
    assert (status.status, status.attempt, status.error_type) == ("retrying", 1, "ConnectionError")
    assert status.as_api_json()["error"] == {"type": "ConnectionError", "message": "downstream blinked"}
    time.sleep(1.0)
    assert stack.receive() == []  # still hidden after 1 s of a 2 s delay
    time.sleep(max(0.0, 2.3 - (time.monotonic() - sent_back)))
    [message] = stack.receive()
    assert message["Attributes"]["ApproximateReceiveCount"] == "2"
    assert stack.invoke(app, [message]) == {"batchItemFailures": []}
    assert attempts == [1, 2]
    [event] = stack.events()
    assert (event["status"], event["attempt"]) == ("succeeded", 2)
    status = app.get_status(task_id)
    assert status is not None
    assert status.as_api_json()["status"] == "succeeded"
    assert "error" not in status.as_api_json()


def test_always_failing_task_is_redriven_after_max_receives_with_a_failed_event(moto_endpoint: str) -> None:
    stack = make_stack(moto_endpoint, max_receives=2)
    attempts: list[int] = []
    app = stack.app()

    @app.task("doomed.job", retry=Retry(requeue_base=0.0))
    def job(req: Add, ctx: TaskContext) -> None:
        attempts.append(ctx.attempt)
        raise TimeoutError("still down")

    task_id = stack.send("doomed.job", {"a": 1, "b": 1})
    stack.deliver(app, expect=1)
    assert stack.events() == []  # attempt 1 of 2: a retry, not a result
    stack.deliver(app, expect=1)

    [event] = stack.events()
    assert (event["status"], event["attempt"], event["error"]["type"]) == ("failed", 2, "TimeoutError")
    status = app.get_status(task_id)
    assert status is not None
    assert (status.status, status.attempt) == ("failed", 2)
    assert stack.receive() == []  # the third receive redrives it instead
    [dead] = stack.dead_letters()
    assert dead["MessageId"] == task_id
    assert attempts == [1, 2]


def test_failed_publish_entries_are_retried(stack: Stack) -> None:
    flaky = FaultyClient(stack.sns)
    flaky.fail_next("PublishBatch", entries=2)
    calls: list[int] = []
    app = add_app(stack, calls, sns=flaky)
    for n in range(3):
        stack.send("math.add", {"a": n, "b": 0})

    assert stack.deliver(app, expect=3) == {"batchItemFailures": []}

    assert (flaky.calls["PublishBatch"], flaky.failed_entries) == (2, 2)
    assert sorted(e["result"]["total"] for e in stack.events()) == [0, 1, 2]


def test_unpublishable_success_is_requeued_and_republished_from_the_stored_result(stack: Stack) -> None:
    calls: list[int] = []
    down = add_app(stack, calls, sns=sns_down(stack))
    task_id = stack.send("math.add", {"a": 5, "b": 5})

    response = stack.deliver(down, expect=1)

    assert response == {"batchItemFailures": [{"itemIdentifier": task_id}]}
    assert stack.events() == []
    status = down.get_status(task_id)
    assert status is not None
    assert status.error_type == "ResultEventNotPublished"
    time.sleep(1.1)  # the requeue delay (settings.backoff_base_seconds)
    healthy = add_app(stack, calls)
    assert stack.deliver(healthy, expect=1) == {"batchItemFailures": []}
    assert calls == [10]
    [event] = stack.events()
    assert (event["task_id"], event["result"], event["duplicate"]) == (task_id, {"total": 10}, True)


def test_fifo_topic_events_carry_group_and_deduplication_ids(moto_endpoint: str) -> None:
    stack = make_stack(moto_endpoint, fifo_topic=True)
    app = stack.app()

    @app.task("math.add")
    def add(req: Add) -> Sum:
        return Sum(total=req.a + req.b)

    @app.task("math.grouped", message_group="tenant-1")
    def grouped(req: Add) -> Sum:
        return Sum(total=0)

    stack.send("math.add", {"a": 1, "b": 1})
    stack.send("math.grouped", {"a": 1, "b": 1})
    assert stack.deliver(app, expect=2) == {"batchItemFailures": []}

    messages = stack.receive(stack.events_url)
    groups = {json.loads(m["Body"])["task_type"]: m["Attributes"]["MessageGroupId"] for m in messages}
    assert groups == {"math.add": "math.add", "math.grouped": "tenant-1"}


def test_oversized_result_is_published_without_it(stack: Stack) -> None:
    app = stack.app()

    @app.task("blob.make")
    def make(req: Add) -> Blob:
        return Blob(data="x" * 300_000)

    task_id = stack.send("blob.make", {"a": 1, "b": 1})
    assert stack.deliver(app, expect=1) == {"batchItemFailures": []}

    [event] = stack.events()
    assert event["result_omitted"] == "too_large"
    assert "result" not in event
    status = app.get_status(task_id)
    assert status is not None
    assert status.status == "succeeded"


def test_stale_status_writes_lose(stack: Stack) -> None:
    table = StatusTable(stack.status_table, stack.dynamodb)

    def status(name: str, attempt: int) -> TaskStatus:
        return TaskStatus("t-1", "math.add", name, attempt, "s", f"u{attempt}", 1)  # type: ignore[arg-type]

    assert table.put_if_newer(status("running", 2))
    assert not table.put_if_newer(status("retrying", 1))  # late news of attempt 1
    assert table.get("t-1") == status("running", 2)
    assert table.put_batch([status("succeeded", 2)]).ok
    assert not table.put_if_newer(status("retrying", 2))  # must not undo the final answer
    found = table.get("t-1")
    assert found is not None
    assert found.status == "succeeded"
    assert table.put_if_newer(status("running", 3))  # a redelivery after success may run again


def test_a_broken_status_table_never_fails_the_task(stack: Stack) -> None:
    calls: list[int] = []
    app = add_app(stack, calls, status_table="no-such-table")
    stack.send("math.add", {"a": 1, "b": 1})

    assert stack.deliver(app, expect=1) == {"batchItemFailures": []}

    assert calls == [2]
    assert [e["status"] for e in stack.events()] == ["succeeded"]


def test_an_unreachable_idempotency_table_retries_without_running(stack: Stack) -> None:
    calls: list[int] = []
    app = add_app(stack, calls, idempotency_table="no-such-table")
    task_id = stack.send("math.add", {"a": 1, "b": 1})

    response = stack.deliver(app, expect=1)

    assert response == {"batchItemFailures": [{"itemIdentifier": task_id}]}
    assert calls == []  # never run unguarded
    status = app.get_status(task_id)
    assert status is not None
    assert (status.status, status.error_type) == ("retrying", "IdempotencyStoreError")


# ------------------------------------------------------------------ the DLQ path


def closing_app(stack: Stack, **overrides: Any) -> TaskApp:
    """An app whose only task always fails for good (so every message is dead-lettered)."""
    app = stack.app(**overrides)

    @app.task("acct.close")
    def close(req: Blob) -> None:
        raise PermanentError("account is closed")

    return app


def reasons(message: dict[str, Any]) -> dict[str, Any]:
    return {name: value.get("StringValue") for name, value in message["MessageAttributes"].items()}


def test_a_dlq_batch_over_1_mib_is_split_and_every_copy_keeps_its_reason(stack: Stack) -> None:
    app = closing_app(stack)
    big = [stack.send("acct.close", {"data": str(n) * 300_000}) for n in range(4)]  # about 1.2 MB
    small = stack.send("acct.close", {"data": "tiny"})

    assert stack.deliver(app, expect=5) == {"batchItemFailures": []}

    dead = {reasons(m)["task_id"]: m for m in stack.dead_letters()}
    assert set(dead) == {*big, small}
    for task_id, message in dead.items():
        assert reasons(message)["error_type"] == "PermanentError", task_id
        assert reasons(message)["error_message"] == "account is closed"
    assert len(dead[big[0]]["Body"]) > 262_144  # a 1 MiB DLQ holds bodies above the old limit with reasons
    for task_id in dead:
        status = app.get_status(task_id)
        assert status is not None
        assert (status.status, status.error_type) == ("failed", "PermanentError")


def test_a_body_that_leaves_no_room_for_the_reason_says_so(stack: Stack) -> None:
    stack.sqs.set_queue_attributes(QueueUrl=stack.dlq_url, Attributes={"MaximumMessageSize": "262144"})
    app = closing_app(stack)
    task_id = stack.send("acct.close", {"data": "x" * 262_100})

    assert stack.deliver(app, expect=1) == {"batchItemFailures": []}

    [dead] = stack.dead_letters()
    assert len(dead["Body"]) > 262_100
    assert "error_type" not in dead.get("MessageAttributes", {})
    status = app.get_status(task_id)
    assert status is not None
    assert status.status == "failed"
    assert "the DLQ copy carries no reason" in (status.error_message or "")
    [event] = stack.events()
    assert "the DLQ copy carries no reason" in event["error"]["message"]


def test_a_dlq_round_trip_by_task_id_keeps_number_and_binary_attributes(stack: Stack) -> None:
    from taskworker.dlq_admin import DeadLetters

    app = closing_app(stack)
    sent = stack.sqs.send_message(
        QueueUrl=stack.queue_url,
        MessageBody=json.dumps({"data": "x"}),
        MessageAttributes={
            "task_type": {"DataType": "String", "StringValue": "acct.close"},
            "priority": {"DataType": "Number", "StringValue": "7"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xffraw"},
        },
    )
    task_id = sent["MessageId"]
    assert stack.deliver(app, expect=1) == {"batchItemFailures": []}

    letters = DeadLetters(stack.sqs, stack.dlq_url, stack.queue_url)
    found = letters.find(task_id)
    assert found is not None
    assert (found.task_id, found.error_type) == (task_id, "PermanentError")
    [dead] = stack.dead_letters()
    attributes = dead["MessageAttributes"]
    assert attributes["priority"] == {"DataType": "Number", "StringValue": "7"}
    assert attributes["blob"] == {"DataType": "Binary", "BinaryValue": b"\x00\xffraw"}

    report = letters.redrive(server_side=False)

    assert report.moved == 1
    [back] = stack.receive()
    assert back["MessageAttributes"]["task_id"]["StringValue"] == task_id
    assert back["MessageAttributes"]["priority"] == {"DataType": "Number", "StringValue": "7"}
    assert back["MessageAttributes"]["blob"] == {"DataType": "Binary", "BinaryValue": b"\x00\xffraw"}
    assert "error_type" not in back["MessageAttributes"]


def test_redrive_with_a_consumer_running_moves_each_message_at_most_once_and_ends(stack: Stack) -> None:
    from taskworker.dlq_admin import DeadLetters

    app = closing_app(stack)
    task_ids = {stack.send("acct.close", {"data": str(n)}) for n in range(5)}
    stack.deliver(app, expect=5)
    stop = threading.Event()

    def consumer() -> None:  # fails every redriven task straight back into the DLQ
        while not stop.is_set():
            messages = stack.receive(wait=1)
            if messages:
                stack.invoke(app, messages)

    thread = threading.Thread(target=consumer, daemon=True)
    thread.start()
    letters = DeadLetters(stack.sqs, stack.dlq_url, stack.queue_url)
    outcome: dict[str, Any] = {}
    redrive = threading.Thread(
        target=lambda: outcome.update(report=letters.redrive(server_side=False)), daemon=True
    )
    redrive.start()
    redrive.join(timeout=120)
    stop.set()
    thread.join(timeout=30)

    assert not redrive.is_alive(), "redrive did not end"
    assert outcome["report"].moved == 5
    deadline = time.monotonic() + 30
    while stack.visible_count() and time.monotonic() < deadline:  # the consumer's last round
        stack.invoke(app, stack.receive())
    ids = [reasons(m)["task_id"] for m in stack.dead_letters()]
    assert sorted(ids) == sorted(task_ids)  # still one copy per task, each under its task id


def test_a_failed_event_is_not_lost_when_sns_fails_past_its_retries(stack: Stack) -> None:
    sns = FaultyClient(stack.sns)
    sns.fail_next("PublishBatch", entries=1_000)
    app = closing_app(stack, sns=sns)
    task_id = stack.send("acct.close", {"data": "x"})

    assert stack.deliver(app, expect=1) == {"batchItemFailures": []}  # in the DLQ: done here
    assert stack.events() == []

    sns.clear_failures()  # SNS is back; the next batch publishes the kept event
    later = stack.send("acct.close", {"data": "y"})
    assert stack.deliver(app, expect=1) == {"batchItemFailures": []}

    events = {e["task_id"]: e for e in stack.events()}
    assert set(events) == {task_id, later}
    assert events[task_id]["status"] == "failed"
    assert events[task_id]["error"]["type"] == "PermanentError"
    assert len(stack.dead_letters()) == 2  # one copy each: nothing was dead-lettered twice


def dynamodb_down(stack: Stack) -> tuple[FaultyClient, TaskApp]:
    """An app whose status table answers BatchWriteItem with 500s past any retry."""
    from taskworker.aws import Clients

    dynamodb = FaultyClient(stack.dynamodb)
    dynamodb.fail_next("BatchWriteItem", count=1_000, code="InternalServerError")
    clients = Clients(sqs=stack.sqs, sns=stack.sns, dynamodb=dynamodb)
    settings = stack.settings(backoff_base_seconds=0.0)  # a requeued message is visible again at once
    return dynamodb, TaskApp("down", settings=settings, clients=clients)


def test_a_success_whose_final_status_cannot_be_written_is_kept_until_it_is(stack: Stack) -> None:
    dynamodb, app = dynamodb_down(stack)
    calls: list[int] = []

    @app.task("math.add")
    def add(req: Add) -> Sum:
        calls.append(req.a + req.b)
        return Sum(total=req.a + req.b)

    task_id = stack.send("math.add", {"a": 1, "b": 2})

    assert stack.deliver(app, expect=1) == {"batchItemFailures": [{"itemIdentifier": task_id}]}
    status = app.get_status(task_id)
    assert status is not None
    assert (status.status, status.error_type) == ("retrying", "FinalStatusNotWritten")

    dynamodb.clear_failures()
    assert stack.deliver(app, expect=1) == {"batchItemFailures": []}
    status = app.get_status(task_id)
    assert status is not None
    assert (status.status, status.result) == ("succeeded", '{"total":3}')
    assert calls == [3]  # idempotency replayed the stored result


def test_a_failure_whose_final_status_cannot_be_written_never_stays_running(stack: Stack) -> None:
    dynamodb, app = dynamodb_down(stack)

    @app.task("acct.close")
    def close(req: Blob) -> None:
        raise PermanentError("account is closed")

    task_id = stack.send("acct.close", {"data": "x"})
    assert stack.deliver(app, expect=1) == {"batchItemFailures": []}
    status = app.get_status(task_id)
    assert status is not None
    assert status.status == "running"  # the outage: not written yet, but not given up

    dynamodb.clear_failures()
    later = stack.send("acct.close", {"data": "y"})
    assert stack.deliver(app, expect=1) == {"batchItemFailures": []}

    for done in (task_id, later):
        status = app.get_status(done)
        assert status is not None
        assert (status.status, status.error_type) == ("failed", "PermanentError")
    assert len(stack.dead_letters()) == 2


def test_a_redriven_task_keeps_its_task_id_for_status_and_events(stack: Stack) -> None:
    """Fails for good -> DLQ -> hand redrive -> succeeds: all under the id the client got."""
    from taskworker.dlq_admin import DeadLetters

    healed: list[str] = []
    app = stack.app()

    @app.task("acct.close")
    def close(req: Blob) -> None:
        if not healed:
            raise PermanentError("account is closed")
        healed.append(req.data)

    task_id = stack.send("acct.close", {"data": "x"})
    assert stack.deliver(app, expect=1) == {"batchItemFailures": []}
    assert [e["status"] for e in stack.events()] == ["failed"]

    healed.append("fixed")  # the operator fixed the cause, then redrives by hand
    assert DeadLetters(stack.sqs, stack.dlq_url, stack.queue_url).redrive(server_side=False).moved == 1
    [back] = stack.receive()
    assert back["MessageId"] != task_id  # a new copy, with a new MessageId
    assert stack.invoke(app, [back]) == {"batchItemFailures": []}

    [event] = stack.events()
    assert (event["task_id"], event["status"]) == (task_id, "succeeded")
    status = app.get_status(task_id)
    assert status is not None
    assert status.status == "succeeded"
    assert app.get_status(back["MessageId"]) is None

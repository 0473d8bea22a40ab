"""TaskClient on FakeSQS: wire format, validation, size limit, batching and per-entry retry."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from taskworker import Settings, TaskApp
from taskworker.aws import Clients
from taskworker.aws.batch import RetryPolicy
from taskworker.client import PartialSubmitError, PayloadError, SubmitError, TaskClient
from taskworker.messages import MAX_MESSAGE_BYTES
from taskworker.testing.fake_sqs import FakeSQS


class Order(BaseModel):
    order_id: str
    quantity: int = 1


@pytest.fixture
def fake() -> FakeSQS:
    return FakeSQS()


@pytest.fixture
def app(fake: FakeSQS) -> TaskApp:
    url = fake.create_queue(QueueName="orders")["QueueUrl"]
    app = TaskApp("shop", settings=Settings(queue_url=url), clients=Clients(sqs=fake))

    @app.task("order.ship")
    def ship(order: Order) -> None:
        return None

    return app


def receive_all(fake: FakeSQS, url: str) -> list[dict]:
    messages: list[dict] = []
    while batch := fake.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
    ).get("Messages", []):
        messages += batch
    return messages


def test_submit_writes_the_wire_format(fake, app):
    task_id = (
        app.client()
        .submit("order.ship", {"order_id": "A1"}, idempotency_key="k-1", correlation_id="c-9")
        .task_id
    )
    (message,) = receive_all(fake, app.settings.queue_url)
    assert message["MessageId"] == task_id
    assert json.loads(message["Body"]) == {"order_id": "A1"}
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes == {"task_type": "order.ship", "idempotency_key": "k-1", "correlation_id": "c-9"}


def test_submit_accepts_models_and_delays(fake, app):
    app.client().submit("order.ship", Order(order_id="B2", quantity=3), delay_seconds=1)
    assert receive_all(fake, app.settings.queue_url) == []  # delayed


def test_invalid_payload_and_unknown_type_are_refused_before_sending(fake, app):
    client = app.client()
    with pytest.raises(PayloadError, match=r"order\.ship: quantity"):
        client.submit("order.ship", {"order_id": "A", "quantity": "many"})
    with pytest.raises(PayloadError, match=r"unknown task type 'order\.lost'; this app has: order\.ship"):
        client.submit("order.lost", {})
    assert "SendMessageBatch" not in fake.calls


def test_oversized_messages_are_refused_with_the_limit(fake, app):
    with pytest.raises(PayloadError, match=f"at most {MAX_MESSAGE_BYTES:,}"):
        app.client().submit("order.ship", {"order_id": "x" * MAX_MESSAGE_BYTES})
    assert "SendMessageBatch" not in fake.calls


NO_WAIT = RetryPolicy(attempts=4, sleep=lambda seconds: None)


def test_submit_many_batches_by_ten_and_keeps_order(fake, app):
    ids = app.client().submit_many(
        [{"task_type": "order.ship", "payload": {"order_id": str(i)}} for i in range(25)]
    )
    assert fake.calls["SendMessageBatch"] == 3
    by_id = {
        m["MessageId"]: json.loads(m["Body"])["order_id"] for m in receive_all(fake, app.settings.queue_url)
    }
    assert [by_id[task_id] for task_id in ids] == [str(i) for i in range(25)]


def test_failed_entries_are_retried(fake, app):
    fake.fail_next("SendMessageBatch", entries=["3", "12"])
    fake.fail_next("SendMessageBatch")  # a whole failed call, too
    client = TaskClient(app=app, policy=NO_WAIT)
    ids = client.submit_many(
        [{"task_type": "order.ship", "payload": {"order_id": str(i)}} for i in range(15)]
    )
    assert len(set(ids)) == 15
    assert len(receive_all(fake, app.settings.queue_url)) == 15


def test_entries_that_keep_failing_are_listed(fake, app):
    for _ in range(NO_WAIT.attempts):
        fake.fail_next("SendMessageBatch", entries=["1"], code="InternalError")
    client = TaskClient(app=app, policy=NO_WAIT)
    with pytest.raises(PartialSubmitError, match=r"1 of 3 tasks were not sent: #1: InternalError") as caught:
        client.submit_many([{"task_type": "order.ship", "payload": {"order_id": str(i)}} for i in range(3)])
    assert caught.value.task_ids[1] is None
    assert caught.value.task_ids[0] is not None
    assert caught.value.task_ids[2] is not None


def test_fifo_queues_get_a_group_and_dedup_id(fake):
    url = fake.create_queue(QueueName="jobs.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    client = TaskClient(url, sqs=fake)
    client.submit("any.task", {"x": 1}, idempotency_key="once")
    client.submit("any.task", {"x": 1}, idempotency_key="once")  # deduplicated by SQS
    client.submit("any.task", {"x": 2}, group_id="g2", idempotency_key="twice")
    messages = receive_all(fake, url)
    assert sorted(m["Attributes"]["MessageGroupId"] for m in messages) == ["any.task", "g2"]


def test_without_a_queue_url_the_error_says_what_to_set(fake):
    with pytest.raises(SubmitError, match="TASKWORKER_QUEUE_URL"):
        TaskClient(settings=Settings(), sqs=fake).submit("t", {})

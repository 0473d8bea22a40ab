"""TaskClient routing: each task to its declared queue's URL, FIFO fields by the target queue."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from pydantic import BaseModel

from taskworker import Settings, TaskApp
from taskworker.aws import Clients
from taskworker.client import PartialSubmitError, SubmitError, TaskClient
from taskworker.testing.fake_sqs import FakeSQS
from tests.client.test_client import receive_all
from tests.moto_env import sqs_client


class Job(BaseModel):
    n: int


def media_app(sqs: Any, urls: dict[str, str], **settings: Any) -> TaskApp:
    """Thumbnails on the default queue, transcodes on 'long', ordered edits on 'edits.fifo'."""
    app = TaskApp("media", settings=Settings(queue_urls=urls, **settings), clients=Clients(sqs=sqs))

    @app.task("thumbnail.make")
    def thumbnail(job: Job) -> None:
        return None

    @app.task("video.transcode", queue="long", timeout=3600)
    def transcode(job: Job) -> None:
        return None

    @app.task("edit.apply", queue="edits.fifo", message_group="edits")
    def edit(job: Job) -> None:
        return None

    app.queue("long", consumer="worker")
    app.queue("edits.fifo")
    return app


@pytest.fixture
def fake() -> FakeSQS:
    return FakeSQS()


@pytest.fixture
def urls(fake: FakeSQS) -> dict[str, str]:
    return {
        "default": fake.create_queue(QueueName="media-default")["QueueUrl"],
        "long": fake.create_queue(QueueName="media-long")["QueueUrl"],
        "edits.fifo": fake.create_queue(QueueName="media-edits.fifo", Attributes={"FifoQueue": "true"})[
            "QueueUrl"
        ],
    }


def mixed(count: int) -> list[dict[str, Any]]:
    kinds = ["thumbnail.make", "video.transcode", "edit.apply"]
    return [
        {"task_type": kinds[i % 3], "payload": {"n": i}, "idempotency_key": f"k{i}"} for i in range(count)
    ]


def test_submit_many_sends_each_task_to_its_queue_and_keeps_ids_in_input_order(fake, urls):
    ids = media_app(fake, urls).client().submit_many(mixed(30))

    found: dict[str, tuple[str, int]] = {}
    for queue, url in urls.items():
        for message in receive_all(fake, url):
            task_type = message["MessageAttributes"]["task_type"]["StringValue"]
            found[message["MessageId"]] = (queue, json.loads(message["Body"])["n"])
            assert (queue, task_type) in {
                ("default", "thumbnail.make"),
                ("long", "video.transcode"),
                ("edits.fifo", "edit.apply"),
            }
    assert [found[task_id][1] for task_id in ids] == list(range(30))
    assert fake.calls["SendMessageBatch"] == 3  # ten per queue: one request each


def test_fifo_fields_follow_the_target_queue_not_the_default_url(fake, urls):
    client = media_app(fake, urls).client()
    client.submit("edit.apply", {"n": 1}, idempotency_key="once")
    client.submit("edit.apply", {"n": 1}, idempotency_key="once")  # deduplicated by SQS
    client.submit("edit.apply", {"n": 2}, group_id="doc-7", idempotency_key="other")
    client.submit("thumbnail.make", {"n": 3})  # standard queue: no FIFO fields (SQS refuses them)

    groups = sorted(m["Attributes"]["MessageGroupId"] for m in receive_all(fake, urls["edits.fifo"]))
    assert groups == ["doc-7", "edits"]  # the request's group, else the task's message_group
    (thumbnail,) = receive_all(fake, urls["default"])
    assert "MessageGroupId" not in thumbnail["Attributes"]


def test_a_queue_without_a_url_is_a_clear_error_and_nothing_is_sent(fake, urls):
    app = media_app(fake, {"long": urls["long"]})
    with pytest.raises(
        SubmitError, match=r"no URL for queue 'default' \(task 'thumbnail.make'\).*TASKWORKER_QUEUE_URLS"
    ):
        app.client().submit_many(mixed(2))  # the transcode would have had a URL
    assert "SendMessageBatch" not in fake.calls


def test_an_explicit_queue_url_carries_every_task_of_an_app_without_queue_urls(fake, urls):
    app = media_app(fake, {})
    ids = app.client(queue_url=urls["default"]).submit_many(mixed(2))
    assert sorted(m["MessageId"] for m in receive_all(fake, urls["default"])) == sorted(ids)
    # ... and is the fallback beside queue_urls: the entries win
    app = media_app(fake, {"long": urls["long"]})
    app.client(queue_url=urls["default"]).submit_many(mixed(2))
    assert len(receive_all(fake, urls["default"])) == 1
    assert len(receive_all(fake, urls["long"])) == 1


def test_a_partial_failure_names_input_indexes_across_queues(fake, urls):
    fake.fail_next("SendMessageBatch", entries=["1"], code="InvalidParameterValue", sender_fault=True)
    client = TaskClient(app=media_app(fake, urls))
    with pytest.raises(PartialSubmitError) as caught:
        client.submit_many(mixed(6))
    # the first batch sent is the default queue's (indexes 0 and 3): its second entry failed
    assert list(caught.value.failures) == [3]
    assert [i for i, task_id in enumerate(caught.value.task_ids) if task_id is None] == [3]


def test_routing_on_moto(moto_endpoint):
    sqs = sqs_client(moto_endpoint)
    prefix = f"r-{uuid.uuid4().hex[:8]}"
    urls = {
        "default": sqs.create_queue(QueueName=f"{prefix}-default")["QueueUrl"],
        "long": sqs.create_queue(QueueName=f"{prefix}-long")["QueueUrl"],
        "edits.fifo": sqs.create_queue(QueueName=f"{prefix}-edits.fifo", Attributes={"FifoQueue": "true"})[
            "QueueUrl"
        ],
    }
    ids = media_app(sqs, urls).client().submit_many(mixed(6))
    by_queue = {queue: {m["MessageId"] for m in receive_all(sqs, url)} for queue, url in urls.items()}
    assert by_queue == {"default": {ids[0], ids[3]}, "long": {ids[1], ids[4]}, "edits.fifo": {ids[2], ids[5]}}


def test_a_fifo_queue_without_content_based_deduplication_takes_a_task_sent_without_a_key(moto_endpoint):
    """The deployed FIFO queues deduplicate by id only: a key-less send still carries one."""
    sqs = sqs_client(moto_endpoint)
    prefix = f"d-{uuid.uuid4().hex[:8]}"
    urls = {
        name: sqs.create_queue(QueueName=f"{prefix}-{name}", **extra)["QueueUrl"]
        for name, extra in {
            "default": {},
            "long": {},
            "edits.fifo": {"Attributes": {"FifoQueue": "true", "ContentBasedDeduplication": "false"}},
        }.items()
    }
    client = media_app(sqs, urls).client()
    first = client.submit("edit.apply", {"n": 1})
    second = client.submit("edit.apply", {"n": 1})  # same body: not a duplicate without a key
    received = {m["MessageId"] for m in receive_all(sqs, urls["edits.fifo"])}
    assert received == {first.task_id, second.task_id}

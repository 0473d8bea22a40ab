"""A consumer only runs its own queue's tasks: another queue's task is forwarded, never run.

A stale producer (old settings, a hand-set URL) can put a 40-minute transcode on the Lambda
queue. Both runtimes hand it to the one core, which refuses to run it there; the first
``after_batch`` step forwards it unchanged to its own queue and only then is the original
deleted. Without a URL for that queue it is retried, then dead-lettered with a reason.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from pydantic import BaseModel

from taskworker import Settings, TaskApp, TaskContext
from taskworker.aws import Clients
from taskworker.testing import FakeSQS, lambda_context, receive_lambda_event
from tests.worker.helpers import make_queues, queue_depth, running_worker, send, wait_until


class Video(BaseModel):
    url: str


class Lanes:
    """A media app on FakeSQS: thumbnails on the (Lambda) default queue, transcodes on 'long'."""

    def __init__(self, consumer_of: str, *, known: tuple[str, ...] = ("default", "long"), **settings: Any):
        self.fake = FakeSQS()
        self.urls: dict[str, str] = {}
        self.dlqs: dict[str, str] = {}
        for name in ("default", "long"):
            self.urls[name], self.dlqs[name] = make_queues(self.fake, f"media-{name}", max_receives=3)
        self.ran: list[str] = []
        self.app = TaskApp(
            "media",
            settings=Settings(
                queue=consumer_of,
                queue_url=self.urls[consumer_of],
                dlq_url=self.dlqs[consumer_of],
                queue_urls={name: self.urls[name] for name in known},
                backoff_base_seconds=0.0,
                backoff_max_seconds=0.0,
                **settings,
            ),
            clients=Clients(sqs=self.fake),
            logger=logging.getLogger("test.wrong_queue"),
        )

        @self.app.task("thumbnail.make", timeout=20)
        def thumbnail(video: Video) -> None:
            self.ran.append(f"thumbnail {video.url}")

        @self.app.task("video.transcode", timeout=3600, queue="long")
        def transcode(video: Video, ctx: TaskContext) -> None:
            self.ran.append(f"transcode {video.url} as {ctx.task_id}")

        self.app.queue("long", consumer="worker", max_receive_count=3)

    def messages(self, queue: str, *, dlq: bool = False) -> list[dict[str, Any]]:
        url = (self.dlqs if dlq else self.urls)[queue]
        found: list[dict[str, Any]] = []
        while batch := self.fake.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", []):
            found += batch
        return found

    def lambda_run(self, queue: str) -> dict[str, Any]:
        """One Lambda invocation of what ``queue`` holds, then what the mapping deletes."""
        event = receive_lambda_event(self.fake, self.urls[queue])
        response = self.app.lambda_handler(event, lambda_context())
        failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
        for record in event["Records"]:
            if record["messageId"] not in failed:
                self.fake.delete_message(QueueUrl=self.urls[queue], ReceiptHandle=record["receiptHandle"])
        return response


def attributes_of(message: dict[str, Any]) -> dict[str, str]:
    return {name: value["StringValue"] for name, value in message["MessageAttributes"].items()}


def test_lambda_forwards_a_task_of_the_worker_queue_unchanged_and_runs_only_its_own() -> None:
    lanes = Lanes("default")
    (stray,) = send(lanes.fake, lanes.urls["default"], "video.transcode", [{"url": "s3://big.mov"}])
    send(lanes.fake, lanes.urls["default"], "thumbnail.make", [{"url": "s3://small.png"}])

    response = lanes.lambda_run("default")

    assert response == {"batchItemFailures": []}  # both done here: one ran, one was handed on
    assert lanes.ran == ["thumbnail s3://small.png"]
    assert queue_depth(lanes.fake, lanes.urls["default"]) == (0, 0)
    (forwarded,) = lanes.messages("long")
    assert json.loads(forwarded["Body"]) == {"url": "s3://big.mov"}
    assert attributes_of(forwarded) == {"task_type": "video.transcode", "task_id": stray}


def test_the_forwarded_task_runs_on_its_own_consumer_under_its_first_task_id() -> None:
    lanes = Lanes("default")
    (stray,) = send(lanes.fake, lanes.urls["default"], "video.transcode", [{"url": "s3://big.mov"}])
    lanes.lambda_run("default")

    own = lanes.app.settings.merged(queue="long", queue_url=lanes.urls["long"], dlq_url=lanes.dlqs["long"])
    lanes.app.configure(settings=own)  # the same app, deployed as the 'long' queue's worker
    with running_worker(lanes.app) as worker:
        wait_until(lambda: worker.settled == 1)

    assert lanes.ran == [f"transcode s3://big.mov as {stray}"]
    assert queue_depth(lanes.fake, lanes.urls["long"]) == (0, 0)


def test_without_the_right_queue_url_it_is_retried_then_dead_lettered_with_the_reason() -> None:
    lanes = Lanes("default", known=("default",))
    send(lanes.fake, lanes.urls["default"], "video.transcode", [{"url": "s3://big.mov"}])

    for _ in range(3):  # max_receive_count=3: retried twice (no backoff here), then dead-lettered
        lanes.lambda_run("default")
    assert lanes.ran == []
    (copy,) = lanes.messages("default", dlq=True)
    reason = attributes_of(copy)
    assert reason["error_type"] == "WrongQueue"
    assert "travels on queue 'long'" in reason["error_message"]
    assert "TASKWORKER_QUEUE_URLS" in reason["error_message"]
    assert lanes.messages("long") == []
    assert queue_depth(lanes.fake, lanes.urls["default"]) == (0, 0)


def test_a_forward_sqs_refuses_keeps_the_message_on_its_queue() -> None:
    lanes = Lanes("default")
    (stray,) = send(lanes.fake, lanes.urls["default"], "video.transcode", [{"url": "s3://big.mov"}])
    lanes.fake.fail_next("SendMessageBatch", count=20)

    response = lanes.lambda_run("default")

    assert response == {"batchItemFailures": [{"itemIdentifier": stray}]}
    assert lanes.ran == []
    assert lanes.messages("long") == []
    assert len(lanes.messages("default")) == 1


def test_the_worker_forwards_a_task_of_the_lambda_queue() -> None:
    lanes = Lanes("long")
    (stray,) = send(lanes.fake, lanes.urls["long"], "thumbnail.make", [{"url": "s3://small.png"}])
    send(lanes.fake, lanes.urls["long"], "video.transcode", [{"url": "s3://big.mov"}])

    with running_worker(lanes.app) as worker:
        wait_until(lambda: worker.settled == 2)
        wait_until(lambda: queue_depth(lanes.fake, lanes.urls["long"]) == (0, 0))

    assert [line.split(" as ")[0] for line in lanes.ran] == ["transcode s3://big.mov"]
    (forwarded,) = lanes.messages("default")
    assert attributes_of(forwarded) == {"task_type": "thumbnail.make", "task_id": stray}


@pytest.mark.parametrize("queue", [None, "default"])
def test_a_consumer_of_every_queue_or_of_the_right_one_runs_the_task(queue: str | None) -> None:
    lanes = Lanes("long")
    settings = Settings(queue=queue, queue_url=lanes.urls["long"])
    lanes.app.configure(settings=settings)
    send(lanes.fake, lanes.urls["long"], "thumbnail.make", [{"url": "s3://small.png"}])
    lanes.lambda_run("long")
    assert lanes.ran == ["thumbnail s3://small.png"]

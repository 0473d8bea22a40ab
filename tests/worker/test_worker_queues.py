"""``taskworker worker APP --queue NAME``: one worker drains one of the app's queues."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest
from pydantic import BaseModel

from taskworker import Settings, TaskApp
from taskworker.aws import Clients
from taskworker.handlers.worker import WorkerConfigError, queue_settings
from taskworker.testing import FakeSQS
from tests.cli.test_cli import receive_all
from tests.moto_env import MotoQueues
from tests.worker.helpers import make_queues, queue_depth, send


class Job(BaseModel):
    n: int = 0


def lanes_app(fake: FakeSQS, settings: Settings, *worker_queues: str) -> TaskApp:
    app = TaskApp("lanes", settings=settings, clients=Clients(sqs=fake))

    @app.task("quick")
    def quick(job: Job) -> None:
        return None

    def slow(job: Job) -> None:
        return None

    for name in worker_queues:  # a task on each worker queue
        app.task(f"slow.{name}", queue=name)(slow)
        app.queue(name, consumer="worker")
    return app


def test_the_one_worker_queue_is_drained_by_default_with_its_own_dlq_and_limit() -> None:
    fake = FakeSQS()
    long_url, long_dlq = make_queues(fake, "lanes-long", max_receives=3)
    settings = Settings(
        queue_url="https://sqs/default", dlq_url="https://sqs/default-dlq", max_receive_count=9,
        queue_urls={"long": long_url},
    )  # fmt: skip
    chosen = queue_settings(lanes_app(fake, settings, "long"), None)
    assert (chosen.queue, chosen.queue_url, chosen.dlq_url) == ("long", long_url, long_dlq)
    assert chosen.max_receive_count is None  # read from the queue, not the default queue's


def test_the_queue_the_environment_names_keeps_its_deployed_settings() -> None:
    fake = FakeSQS()
    settings = Settings(queue="long", queue_url="https://sqs/long", dlq_url="https://sqs/long-dlq")
    chosen = queue_settings(lanes_app(fake, settings, "long", "batch"), None)
    assert (chosen.queue, chosen.queue_url, chosen.dlq_url) == (
        "long",
        "https://sqs/long",
        "https://sqs/long-dlq",
    )


def test_several_worker_queues_and_no_name_is_refused_with_the_names() -> None:
    app = lanes_app(FakeSQS(), Settings(queue_url="https://sqs/default"), "long", "batch")
    with pytest.raises(WorkerConfigError, match=r"several worker queues \(long, batch\): pass --queue NAME"):
        queue_settings(app, None)


def test_an_unknown_queue_or_one_without_a_url_is_refused_with_what_to_do() -> None:
    app = lanes_app(FakeSQS(), Settings(queue_url="https://sqs/default"), "long")
    with pytest.raises(WorkerConfigError, match=r"no queue 'lung'; its queues: default, long"):
        queue_settings(app, "lung")
    with pytest.raises(WorkerConfigError, match=r"no URL for queue 'long': set TASKWORKER_QUEUE_URLS"):
        queue_settings(app, "long")


def test_an_app_without_declared_queues_is_consumed_as_before() -> None:
    app = lanes_app(FakeSQS(), Settings(queue_url="https://sqs/one"))
    chosen = queue_settings(app, None, queue_url="https://sqs/other")
    assert (chosen.queue, chosen.queue_url) == (None, "https://sqs/other")


def test_cli_worker_drains_only_its_queue_and_forwards_strays(moto_queues: MotoQueues) -> None:
    sqs = moto_queues.sqs
    prefix = f"m-{uuid.uuid4().hex[:8]}"
    urls = {name: make_queues(sqs, f"{prefix}-{name}")[0] for name in ("default", "long")}
    send(sqs, urls["long"], "video.transcode", [{"video_url": "s3://a.mov", "seconds": 0}])
    (stray,) = send(sqs, urls["long"], "thumbnail.make", [{"image_url": "s3://a.png"}])
    (waiting,) = send(sqs, urls["default"], "thumbnail.make", [{"image_url": "s3://b.png"}])
    env = moto_queues.env(TASKWORKER_QUEUE_URLS=json.dumps(urls))
    for unset in ("TASKWORKER_QUEUE_URL", "TASKWORKER_DLQ_URL"):
        env.pop(unset)

    process = subprocess.run(
        [sys.executable, "-m", "taskworker.cli", "worker", "examples.media:app", "--queue", "long",
         "--exit-when-empty", "--wait-time", "1"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert process.returncode == 0, process.stderr
    assert queue_depth(sqs, urls["long"]) == (0, 0)  # the transcode ran, the stray left
    on_default = {m["MessageId"]: m for m in receive_all(sqs, urls["default"])}
    assert waiting in on_default  # not this worker's to take
    (forwarded,) = [m for m in on_default.values() if m["MessageId"] != waiting]
    assert forwarded["MessageAttributes"]["task_id"]["StringValue"] == stray

"""`taskworker dev` with a two-queue app: every queue created, each drained by the consumer it
asks for, side by side (HTTP -> the task's queue -> its consumer -> status)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

pytest.importorskip("moto")

from taskworker import TaskApp
from taskworker.dev import DevStack, DevStackConfig
from taskworker.dev.demo import post, wait_for
from taskworker.dev.event_source import EventSourceConfig
from taskworker.dev.resources import DevResources

ran_on: dict[str, str] = {}
"""Task payload -> the thread that ran it: the per-consumer marker."""


class Item(BaseModel):
    name: str


app = TaskApp("lanes")
app.queue("default", consumer="lambda", batch_size=5)
app.queue("long", consumer="worker", concurrency=2, max_receive_count=2)


@app.task("thumbnail.make", timeout=10)
def thumbnail(item: Item) -> None:
    ran_on[item.name] = threading.current_thread().name


@app.task("video.transcode", timeout=3600, queue="long")
def transcode(item: Item) -> None:
    ran_on[item.name] = threading.current_thread().name


@pytest.fixture
def stack() -> Iterator[DevStack]:
    ran_on.clear()
    config = DevStackConfig(
        port=0, resources=DevResources(prefix="t-lanes"), event_source=EventSourceConfig(function_timeout=30)
    )
    with DevStack(app, config, printer=lambda line: None) as running:
        yield running


def attributes(stack: DevStack, url: str) -> dict[str, Any]:
    found = stack.app.clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    return dict(found["Attributes"])


def test_each_queue_is_drained_by_its_own_consumer(stack: DevStack) -> None:
    assert stack.api is not None
    api = stack.api.url
    ids = [post(api, "thumbnail.make", {"name": f"thumb-{i}"})[1]["task_id"] for i in range(3)]
    ids += [post(api, "video.transcode", {"name": f"video-{i}"})[1]["task_id"] for i in range(3)]

    statuses = wait_for(api, ids, timeout=60)

    assert {statuses[task_id]["status"] for task_id in ids} == {"succeeded"}
    assert {name: thread.split("-")[0] for name, thread in ran_on.items()} == {
        **{f"thumb-{i}": "lambda" for i in range(3)},  # the event source's thread: Lambda emulation
        **{f"video-{i}": "taskworker" for i in range(3)},  # the worker's task threads
    }


def test_every_queue_has_its_own_dlq_and_redrive_limit(stack: DevStack) -> None:
    urls = stack.app.settings.queue_urls
    assert urls is not None
    assert set(urls) == {"default", "long"}
    default, long = (attributes(stack, urls[name]) for name in ("default", "long"))
    assert '"maxReceiveCount": 5' in default["RedrivePolicy"]
    assert '"maxReceiveCount": 2' in long["RedrivePolicy"]
    assert "t-lanes-tasks-dlq" in default["RedrivePolicy"]
    assert "t-lanes-long-tasks-dlq" in long["RedrivePolicy"]
    banner = stack.banner()
    assert "queue long" in banner
    assert "worker, 2 tasks at once" in banner
    assert "Lambda emulation, batch size 5" in banner

"""Shared helpers for worker tests: apps on fake or real clients, a worker in a thread."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from taskworker import Settings, TaskApp
from taskworker.aws import Clients
from taskworker.dev.resources import DevResources, provision_queues
from taskworker.handlers.worker import Worker, WorkerOptions
from taskworker.messages import send_attributes

QUICK = {"wait_time_seconds": 1, "visibility_timeout": 5, "grace_seconds": 10.0, "linger_seconds": 0.02}


def make_queues(
    sqs: Any, name: str, *, fifo: bool = False, max_receives: int = 3, visibility: int = 5
) -> tuple[str, str]:
    """A task queue with a redrive policy to its own DLQ; returns (queue_url, dlq_url)."""
    resources = DevResources(
        prefix=name, visibility_timeout=visibility, max_receive_count=max_receives, fifo=fifo
    )
    queues = provision_queues(resources, sqs)
    return queues.queue_url, queues.dlq_url


def make_app(name: str, sqs: Any, queue_url: str, dlq_url: str | None = None, **settings: Any) -> TaskApp:
    defaults: dict[str, Any] = {"backoff_base_seconds": 0.0, "backoff_max_seconds": 0.0}
    return TaskApp(
        name,
        settings=Settings(queue_url=queue_url, dlq_url=dlq_url, **{**defaults, **settings}),
        clients=Clients(sqs=sqs),
        logger=logging.getLogger(f"test.{name}"),
    )


def send(
    sqs: Any, queue_url: str, task_type: str, payloads: list[dict[str, Any]], *, group: str | None = None
) -> list[str]:
    """Send payloads in batches of ten; returns message ids in order."""
    ids: list[str] = []
    for start in range(0, len(payloads), 10):
        entries = []
        for offset, payload in enumerate(payloads[start : start + 10]):
            entry: dict[str, Any] = {
                "Id": str(offset),
                "MessageBody": json.dumps(payload),
                "MessageAttributes": {
                    k: {"DataType": "String", "StringValue": v} for k, v in send_attributes(task_type).items()
                },
            }
            if group is not None:
                entry["MessageGroupId"] = group
                entry["MessageDeduplicationId"] = f"{group}-{start + offset}-{time.time_ns()}"
            entries.append(entry)
        response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        assert not response.get("Failed"), response
        ids += [s["MessageId"] for s in sorted(response["Successful"], key=lambda s: int(s["Id"]))]
    return ids


def queue_depth(sqs: Any, queue_url: str) -> tuple[int, int]:
    """(visible, in flight) messages."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0, interval: float = 0.02) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


@contextlib.contextmanager
def running_worker(app: TaskApp, **options: Any) -> Iterator[Worker]:
    """A worker on a background thread, stopped gracefully (and checked) on exit."""
    worker = Worker.for_app(app, WorkerOptions(**{**QUICK, **options}))
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["code"] = worker.run()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    assert worker.wait_started(30), outcome
    try:
        yield worker
    finally:
        worker.stop()
        thread.join(60)
        assert not thread.is_alive(), "worker did not stop"
        assert outcome.get("code") == 0, outcome


class Recorder:
    """Thread-safe log of what tasks did, for assertions."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: list[Any] = []
        self.active = 0
        self.max_active = 0

    def enter(self, item: Any) -> None:
        with self.lock:
            self.calls.append(item)
            self.active += 1
            self.max_active = max(self.max_active, self.active)

    def leave(self) -> None:
        with self.lock:
            self.active -= 1

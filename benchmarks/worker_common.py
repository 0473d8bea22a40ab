"""What the container-worker benchmarks share: the app, the queue filling, the endpoints.

The contestants themselves are in :mod:`benchmarks.consumers`. Endpoints: the in-memory
:class:`~taskworker.testing.FakeSQS` (optionally behind a simulated network round trip,
:class:`Delayed`), moto's server in its own process, and fauxqs.
moto's SQS cost per call grows with queue depth (FIELD-NOTES), so on moto a
:class:`Feeder` keeps the queue busy but shallow instead of filling it up front; fauxqs
(:mod:`benchmarks.fauxqs_server`) is filled up front, before the clock starts.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from taskworker import Settings, TaskApp
from taskworker.aws import Clients
from taskworker.messages import send_attributes
from taskworker.testing.fake_sqs import FakeSQS

TASK_SLEEP = 0.020
CONCURRENCY = 16
ROUND_TRIP = 0.010
FEED_DEPTH = 50
"""Messages queued and not yet settled while a feeder runs: busy, and shallow for moto."""

LOOP_BASELINE = "hand-written loop: receive 10, handle, DeleteMessageBatch"
NOT_THE_CONSUMERS = ("SendMessageBatch", "SendMessage", "CreateQueue", "GetQueueAttributes")
"""Requests that are the producer's or the set-up's, not the consumer's."""


class Job(BaseModel):
    n: int


class Progress:
    """Tasks settled so far by the running contestant (read by a :class:`Feeder`).

    A contestant counts into ``done``, or has it read live from a source it names with
    :meth:`follow` (the worker's own count), so nobody polls to keep it current.
    """

    def __init__(self) -> None:
        self._done = 0
        self._source: Callable[[], int] | None = None

    @property
    def done(self) -> int:
        return self._source() if self._source is not None else self._done

    @done.setter
    def done(self, value: int) -> None:
        self._done = value

    def follow(self, source: Callable[[], int]) -> None:
        self._source = source


def make_app(sqs: Any, queue_url: str, sleep: float) -> TaskApp:
    app = TaskApp(
        "bench",
        settings=Settings(queue_url=queue_url, max_receive_count=5),
        clients=Clients(sqs=sqs),
        logger=logging.getLogger("bench.worker"),
    )

    @app.task("job")
    def job(item: Job) -> None:
        if sleep:
            time.sleep(sleep)

    return app


def send_batch(sqs: Any, queue_url: str, first: int, size: int) -> None:
    attributes = {k: {"DataType": "String", "StringValue": v} for k, v in send_attributes("job").items()}
    entries = [
        {"Id": str(i), "MessageBody": json.dumps({"n": first + i}), "MessageAttributes": attributes}
        for i in range(size)
    ]
    sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)


def fill(sqs: Any, queue_url: str, count: int) -> None:
    for start in range(0, count, 10):
        send_batch(sqs, queue_url, start, min(10, count - start))


class Feeder:
    """Keeps ``depth`` tasks queued ahead of the consumer until ``total`` were sent.

    Sends with its own client (whose requests nobody counts), ten at a time, so the
    consumer always finds full receives while the queue stays shallow.
    """

    def __init__(self, sqs: Any, queue_url: str, total: int, progress: Progress, depth: int = FEED_DEPTH):
        self.sqs = sqs
        self.queue_url = queue_url
        self.total = total
        self.progress = progress
        self.depth = depth
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-feeder", daemon=True)

    def __enter__(self) -> Feeder:
        while self.sent < min(self.depth, self.total):  # a busy queue from the first receive
            self._send()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _send(self) -> None:
        size = min(10, self.total - self.sent)
        send_batch(self.sqs, self.queue_url, self.sent, size)
        self.sent += size

    def _run(self) -> None:
        while self.sent < self.total and not self._stop.is_set():
            if self.sent - self.progress.done < self.depth:
                self._send()
            else:
                time.sleep(0.002)


class Delayed:
    """A client proxy that adds a fixed network round trip to every request."""

    def __init__(self, client: Any, round_trip: float) -> None:
        self._client = client
        self._round_trip = round_trip

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            time.sleep(self._round_trip)
            return attribute(*args, **kwargs)

        return call


def per_thousand(counts: Counter[str], tasks: int) -> float:
    """The consumer's SQS requests per 1,000 tasks: receives, deletes, visibility changes."""
    return sum(n for op, n in counts.items() if op not in NOT_THE_CONSUMERS) * 1000 / tasks


def fake_queue(fake: FakeSQS, name: str) -> str:
    return str(fake.create_queue(QueueName=name)["QueueUrl"])


def quiet() -> None:
    """The worker logs every start and stop; the table is the output here."""
    logging.getLogger("bench").setLevel(logging.ERROR)

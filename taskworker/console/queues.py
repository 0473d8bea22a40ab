"""Queue depths, and the sampler that remembers the last minutes of them for the chart.

Depths are three GetQueueAttributes counters. The age of the oldest message is not an
SQS attribute (it is CloudWatch's ApproximateAgeOfOldestMessage, a per-minute metric that
costs a GetMetricData call and a ``cloudwatch:GetMetricData`` permission), so the console
does not show it.

One sample is one GetQueueAttributes call per queue. The sampler takes one every
``interval`` seconds however many browsers look, since pages read its latest sample and
only sample themselves when it is older than ``interval``: at the default 10 s, with a
queue and a DLQ, that is 12 calls a minute.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

DEPTH_ATTRIBUTES = {
    "visible": "ApproximateNumberOfMessages",
    "in_flight": "ApproximateNumberOfMessagesNotVisible",
    "delayed": "ApproximateNumberOfMessagesDelayed",
}
DEFAULT_INTERVAL = 10.0
DEFAULT_WINDOW = 600.0
"""Seconds of history the chart shows."""


@dataclass(frozen=True, slots=True)
class Depth:
    visible: int
    in_flight: int
    delayed: int


@dataclass(frozen=True, slots=True)
class Sample:
    at: float
    """Seconds on the sampler's clock."""
    depths: Mapping[str, Depth]
    """By queue name (``queue``, ``dlq``)."""


def read_depth(sqs: Any, queue_url: str) -> Depth:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=list(DEPTH_ATTRIBUTES.values()))[
        "Attributes"
    ]
    return Depth(**{name: int(attributes.get(key, 0)) for name, key in DEPTH_ATTRIBUTES.items()})


class QueueSampler:
    """Samples the depths of ``queues`` (name -> URL) and keeps ``window`` seconds of them."""

    def __init__(
        self,
        sqs: Any,
        queues: Mapping[str, str],
        *,
        interval: float = DEFAULT_INTERVAL,
        window: float = DEFAULT_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sqs = sqs
        self.queues = dict(queues)
        self.interval = interval
        self.clock = clock
        self.history: deque[Sample] = deque(maxlen=max(2, int(window / interval) + 1))
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sample(self) -> Sample:
        taken = Sample(self.clock(), {name: read_depth(self.sqs, url) for name, url in self.queues.items()})
        with self._lock:
            self.history.append(taken)
        return taken

    def current(self) -> Sample:
        """The latest sample, taken now when there is none younger than ``interval``."""
        with self._lock:
            latest = self.history[-1] if self.history else None
        if latest is not None and self.clock() - latest.at < self.interval:
            return latest
        return self.sample()

    def samples(self) -> list[Sample]:
        with self._lock:
            return list(self.history)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="console-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            # A failed sample leaves a gap in the chart; the page, sampling itself when the
            # latest sample is stale, shows the error.
            with contextlib.suppress(Exception):
                self.sample()
            self._stop.wait(self.interval)

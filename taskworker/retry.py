"""Retry policy: quick retries in-process, then redelivery by SQS with backoff.

Two layers, because they fix different failures. A blip (a throttled call, a dropped
connection) is cheapest to retry at once, in the same process, with tenacity. A longer
outage is better left to the queue: the message goes back with a visibility delay that
grows with its receive count, so a struggling dependency is not hammered, and the redrive
policy eventually parks it in the dead-letter queue.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from taskworker.errors import PermanentError, RetryableError

T = TypeVar("T")

MAX_VISIBILITY_SECONDS = 43_200
"""SQS refuses visibility timeouts above 12 hours."""


@dataclass(frozen=True, slots=True)
class Retry:
    """How a task retries.

    ``attempts`` counts in-process tries including the first (1 means no in-process
    retry); between them tenacity waits an exponential, jittered ``backoff`` capped at
    ``max_backoff`` seconds. Only exceptions in ``retry_on`` are retried in-process;
    :class:`~taskworker.PermanentError` never is. After the in-process tries the message
    returns to the queue after ``requeue_delay(receive_count)`` seconds.
    """

    attempts: int = 1
    backoff: float = 0.1
    max_backoff: float = 2.0
    retry_on: tuple[type[BaseException], ...] = (Exception,)
    requeue_base: float | None = None
    requeue_max: float | None = None
    jitter: Callable[[float, float], float] = field(default=random.uniform, repr=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"Retry(attempts={self.attempts}): attempts must be at least 1")
        if self.backoff < 0 or self.max_backoff < 0:
            raise ValueError("Retry backoff values must not be negative")

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn``, retrying in-process per this policy; re-raise the last error."""
        if self.attempts == 1:
            return fn()
        import tenacity  # deferred: 50 ms of import time that most tasks never need

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.attempts),
            wait=tenacity.wait_random_exponential(multiplier=self.backoff, max=self.max_backoff),
            retry=tenacity.retry_if_exception(self._should_retry),
            reraise=True,
        )
        return retrying(fn)

    def requeue_delay(self, receive_count: int, base: float, maximum: float) -> float:
        """Seconds before receive number ``receive_count + 1``: exponential, capped, jittered.

        "Equal jitter": half the exponential step is kept, half is random, so retries
        spread out without ever collapsing to zero delay.
        """
        base = self.requeue_base if self.requeue_base is not None else base
        maximum = self.requeue_max if self.requeue_max is not None else maximum
        step = min(maximum, base * 2.0 ** max(0, receive_count - 1), MAX_VISIBILITY_SECONDS)
        return step / 2 + float(self.jitter(0.0, step / 2))

    def _should_retry(self, exc: BaseException) -> bool:
        if isinstance(exc, PermanentError):
            return False
        if isinstance(exc, RetryableError) and exc.delay is not None:
            return False  # the handler asked for a specific delay: honour it via the queue
        return isinstance(exc, self.retry_on)


NO_RETRY = Retry()

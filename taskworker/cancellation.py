"""``ctx.cancel_requested()``: a cheap, cached answer to "did the caller cancel this task?".

A handler may ask in every loop iteration, so the answer is cached and refreshed by at
most one GetItem (one attribute) per ``interval`` seconds; the first ``interval`` after the
task starts costs nothing, because the ``running`` write is conditional on no cancellation
having been requested. Once true it stays true. A failed read is logged and answers with
what was known: cancellation is a request, never a reason to fail the task.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from taskworker.log import SupportsLogging

CANCEL_CHECK_INTERVAL = 5.0
"""Seconds between two status reads of one task's ``cancel_requested()``."""


class CancelWatch:
    """Whether one task's cancellation was requested, as of the last read."""

    __slots__ = (
        "_clock",
        "_logger",
        "_next_read",
        "_read",
        "before_start",
        "interval",
        "requested_at",
        "task_id",
    )

    def __init__(
        self,
        task_id: str,
        read: Callable[[], str | None],
        logger: SupportsLogging,
        *,
        requested_at: str | None = None,
        interval: float = CANCEL_CHECK_INTERVAL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.task_id = task_id
        self._read = read
        self._logger = logger
        self.requested_at = requested_at
        self.before_start = requested_at is not None
        """Cancelled before the task started: it must not run at all."""
        self.interval = interval
        self._clock = clock
        self._next_read = clock() + interval

    def requested(self) -> bool:
        if self.requested_at is not None:
            return True
        now = self._clock()
        if now >= self._next_read:
            self._next_read = now + self.interval
            try:
                self.requested_at = self._read()
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                self._logger.log(
                    30, "cancellation not checked", extra={"task_id": self.task_id, "error": error}
                )
        return self.requested_at is not None

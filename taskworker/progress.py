"""Coalesced progress reports: what ``ctx.report_progress`` writes, and how often.

A handler may report progress in a tight loop; the status table must not see a write per
call. The reporter keeps the latest value and writes it at most once per ``interval``
seconds; the status middleware puts the latest value into the task's next status write
(``retrying`` or the final one), so the last report is never lost and costs no extra
call. A failed write is logged and forgotten: progress is a report, never a reason to
fail the task.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from taskworker.log import SupportsLogging
from taskworker.messages import iso_from_epoch
from taskworker.status import Progress

PROGRESS_INTERVAL = 1.0
"""Seconds between two progress writes of one task."""

ProgressWriter = Callable[[Progress], object]


class ProgressReporter:
    """The latest progress of one running task and its throttled writes."""

    __slots__ = ("_clock", "_logger", "_next_write", "_write", "interval", "latest", "task_id")

    def __init__(
        self,
        task_id: str,
        write: ProgressWriter,
        logger: SupportsLogging,
        *,
        interval: float = PROGRESS_INTERVAL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.task_id = task_id
        self._write = write
        self._logger = logger
        self.interval = interval
        self._clock = clock
        self._next_write = 0.0
        self.latest: Progress | None = None

    def report(self, done: float, total: float | None = None, message: str | None = None) -> None:
        """Keep the value; write it when the last write is ``interval`` seconds old."""
        now = self._clock()
        self.latest = Progress(done, total, message, iso_from_epoch(now))
        if now < self._next_write:
            return
        self._next_write = now + self.interval
        try:
            self._write(self.latest)
        except Exception as exc:
            self._logger.log(
                30,
                "progress not written",
                extra={"task_id": self.task_id, "error": f"{type(exc).__name__}: {exc}"},
            )

"""Task status: ``running`` as a task starts, its final answer once the batch is settled.

``running`` is written per task in ``before_task`` (it must be visible while the handler
works); ``succeeded`` and ``failed`` are written in ``after_batch`` with BatchWriteItem,
after dead-lettering and result events have had their say, so the status never claims an
outcome that a later hook turned into a retry. ``retrying`` is written per task with a
condition on ``attempt``, because a late ``retrying`` of attempt 1 must not hide the
``running`` of attempt 2. A write that fails is retried a few times and then logged: the
status is a report about the task, never a reason to fail it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from taskworker.context import TaskCall
from taskworker.log import SupportsLogging
from taskworker.messages import NO_TASK_TYPE, iso_from_epoch
from taskworker.middleware.base import Middleware
from taskworker.outcomes import Failed, RetryLater, Succeeded, TaskResult
from taskworker.status import StatusName, StatusTable, TaskStatus, clip_error, result_text

WRITE_ATTEMPTS = 3


class TaskStatusMiddleware(Middleware):
    """Keeps the status table current; see the module docstring."""

    def __init__(
        self,
        table: Callable[[], StatusTable] | StatusTable,
        *,
        ttl_seconds: int,
        logger: SupportsLogging,
        retry_pause: float = 0.05,
    ) -> None:
        self._table = table
        self.ttl_seconds = ttl_seconds
        self.logger = logger
        self.retry_pause = retry_pause

    @property
    def table(self) -> StatusTable:
        """Built on first use, so creating the app's middleware creates no boto3 client."""
        if not isinstance(self._table, StatusTable):
            self._table = self._table()
        return self._table

    def before_task(self, call: TaskCall) -> None:
        now = time.time()
        message = call.message
        status = self._status(message.task_id, call.task.name, "running", message.receive_count, now, now)
        self._write("running", message.task_id, lambda: self.table.put_if_newer(status))

    def after_batch(self, results: Sequence[TaskResult]) -> None:
        now = time.time()
        final: list[TaskStatus] = []
        for result in results:
            if not result.message.task_id:
                continue
            status = self._from_result(result, now)
            if status is None:
                continue
            if status.final:
                final.append(status)
            else:
                self._write_retrying(status)
        if final:
            self._write_final(final)

    def _write_retrying(self, status: TaskStatus) -> None:
        self._write("retrying", status.task_id, lambda: self.table.put_if_newer(status))

    def _write_final(self, statuses: list[TaskStatus]) -> None:
        """BatchWriteItem, then again for unprocessed items, a bounded number of times."""
        pending = statuses
        for attempt in range(WRITE_ATTEMPTS):
            if attempt:
                time.sleep(self.retry_pause * 2 ** (attempt - 1))
            pending = self.table.put_batch(pending)
            if not pending:
                return
        for status in pending:
            self._warn("final status not written", status.task_id, None)

    def _from_result(self, result: TaskResult, now: float) -> TaskStatus | None:
        message, outcome = result.message, result.outcome
        task_type = result.task.name if result.task else (message.task_type or NO_TASK_TYPE)
        started = result.started_at or now
        name: StatusName
        if isinstance(outcome, Succeeded):
            status = self._status(
                message.task_id, task_type, "succeeded", message.receive_count, started, now
            )
            text = None if outcome.result is None else result_text(outcome.result_json())
            return replace(status, finished_at=status.updated_at, result=text)
        if isinstance(outcome, Failed):
            name = "failed"
        elif isinstance(outcome, RetryLater):
            name = "retrying"
        else:  # pragma: no cover - Outcome is closed
            return None
        status = self._status(message.task_id, task_type, name, message.receive_count, started, now)
        finished = status.updated_at if name == "failed" else None
        return replace(
            status,
            finished_at=finished,
            error_type=outcome.error.type,
            error_message=clip_error(outcome.error.message),
        )

    def _status(
        self, task_id: str, task_type: str, name: StatusName, attempt: int, started: float, now: float
    ) -> TaskStatus:
        return TaskStatus(
            task_id=task_id,
            task_type=task_type,
            status=name,
            attempt=attempt,
            started_at=iso_from_epoch(started),
            updated_at=iso_from_epoch(now),
            expires_at=int(now) + self.ttl_seconds,
        )

    def _write(self, what: str, task_id: str, write: Callable[[], object]) -> None:
        error: Exception | None = None
        for attempt in range(WRITE_ATTEMPTS):
            if attempt:
                time.sleep(self.retry_pause * 2 ** (attempt - 1))
            try:
                write()
                return
            except Exception as exc:
                error = exc
        self._warn(f"{what} status not written", task_id, error)

    def _warn(self, message: str, task_id: str, exc: Exception | None) -> None:
        detail = f"{type(exc).__name__}: {exc}" if exc else None
        self.logger.log(30, message, extra={"task_id": task_id, "error": detail})

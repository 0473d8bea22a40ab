"""Task status: ``running`` as a task starts, its final answer once the batch is settled.

``running`` is written per task in ``before_task`` (it must be visible while the handler
works); ``succeeded`` and ``failed`` are written in ``after_batch`` with BatchWriteItem,
after dead-lettering and result events have had their say, so the status never claims an
outcome that a later hook turned into a retry. ``retrying`` is written per task with a
condition on ``attempt``, because a late ``retrying`` of attempt 1 must not hide the
``running`` of attempt 2. Writes go through the batch helper's retry rules.

A status never stays ``running`` for a task that finished: a final status that could
not be written is not given up. A success goes back to its queue (its message is kept
until the status is written; idempotency replays the result on redelivery). A failure
is already in the DLQ or on its way there, so its final status is kept in the
consumer's backlog and written with the next batch. A write DynamoDB refuses (a sender
fault: no such table, access denied) is logged, not kept. A ``running``/``retrying`` write
that fails is only logged: the status is a report about the task, never a reason to fail it.

Progress (``ctx.report_progress``) goes through a :class:`~taskworker.progress.ProgressReporter`
the middleware hands each call: throttled UpdateItems of the ``progress_*`` attributes
while the task runs, and the last value rides along with the task's next status write.

Cancellation: the ``running`` write is refused when the record is ``cancelled`` or has
``cancel_requested_at``; only then is the record read, and a cancelled task is not run
(``wrap_handler`` raises :class:`~taskworker.errors.TaskCancelledError`, so it ends
``cancelled``). A running task asks ``ctx.cancel_requested()`` (a
:class:`~taskworker.cancellation.CancelWatch`). A task that finishes despite a request keeps
its result; its final status carries ``cancel_requested_at`` when the task had seen it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import NamedTuple

from pydantic import BaseModel

from taskworker.aws.batch import DEFAULT_POLICY, EntryError, RetryPolicy, retry_call
from taskworker.cancellation import CANCEL_CHECK_INTERVAL, CancelWatch
from taskworker.context import TaskCall
from taskworker.errors import TaskCancelledError
from taskworker.log import SupportsLogging
from taskworker.messages import NO_TASK_TYPE, TaskMessage, iso_from_epoch
from taskworker.middleware.backlog import Backlog
from taskworker.middleware.base import HandlerCall, Middleware
from taskworker.outcomes import Cancelled, ErrorInfo, Failed, Outcome, RetryLater, Succeeded, TaskResult
from taskworker.progress import PROGRESS_INTERVAL, ProgressReporter
from taskworker.status import Progress, StatusName, StatusTable, TaskStatus, clip_error, result_text

NOT_WRITTEN = "FinalStatusNotWritten"

MAX_HELD = 1_000
"""Last progress values (seen cancellations, follow-up ids) held from ``after_task`` to ``after_batch``;
a runtime that runs the two in different processes must not grow this without bound."""


class _Held(NamedTuple):
    """What a task's next status write takes from its run."""

    progress: Progress | None
    cancel_at: str | None
    children: tuple[str, ...]


class TaskStatusMiddleware(Middleware):
    """Keeps the status table current; see the module docstring."""

    def __init__(
        self,
        table: Callable[[], StatusTable] | StatusTable,
        *,
        ttl_seconds: int,
        logger: SupportsLogging,
        policy: RetryPolicy = DEFAULT_POLICY,
        requeue_delay: float | None = None,
        progress_interval: float = PROGRESS_INTERVAL,
        cancel_check_interval: float = CANCEL_CHECK_INTERVAL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cancel_check_interval = cancel_check_interval
        self._table = table
        self.progress_interval = progress_interval
        self.clock = clock
        self._held: dict[str, _Held] = {}
        self.ttl_seconds = ttl_seconds
        self.logger = logger
        self.policy = policy
        self.requeue_delay = requeue_delay
        self.backlog: Backlog[TaskStatus] = Backlog()

    @property
    def table(self) -> StatusTable:
        """Built on first use, so creating the app's middleware creates no boto3 client."""
        if not isinstance(self._table, StatusTable):
            self._table = self._table()
        return self._table

    def before_task(self, call: TaskCall) -> None:
        now = self.clock()
        message = call.message
        status = self._status(message, call.task.name, "running", now, now)
        written = self._write("running", message.task_id, lambda: self.table.put_if_newer(status))
        task_id = message.task_id
        call.cancel = CancelWatch(
            task_id,
            lambda: self.table.cancel_requested_at(task_id),
            self.logger,
            requested_at=None if written is not False else self._read_cancel(task_id),
            interval=self.cancel_check_interval,
            clock=self.clock,
        )
        call.progress = ProgressReporter(
            message.task_id,
            lambda progress: self.table.put_progress(message.task_id, message.receive_count, progress),
            self.logger,
            interval=self.progress_interval,
            clock=self.clock,
        )

    def wrap_handler(self, call: TaskCall, proceed: HandlerCall) -> BaseModel | None:
        """A task cancelled before it started is not run: it ends ``cancelled``."""
        if call.cancel is not None and call.cancel.before_start:
            raise TaskCancelledError("cancelled before it started")
        return proceed()

    def after_task(self, call: TaskCall, outcome: Outcome) -> None:
        """Hold the task's last progress, a cancellation it saw and the follow-ups it
        submitted (``children``) for its next status write in ``after_batch``."""
        latest = None if call.progress is None else call.progress.latest
        cancel_at = None if call.cancel is None else call.cancel.requested_at
        children = () if call.follow_ups is None else call.follow_ups.children
        if latest is None and cancel_at is None and not children:
            return
        if len(self._held) >= MAX_HELD:
            self._held.pop(next(iter(self._held)))
        self._held[call.message.task_id] = _Held(latest, cancel_at, children)

    def _read_cancel(self, task_id: str) -> str | None:
        """After a refused ``running`` write: was it refused for a cancellation?"""
        try:
            return self.table.cancel_requested_at(task_id)
        except Exception as exc:
            self._warn("cancellation not checked", task_id, exc)
            return None

    def after_batch(self, results: Sequence[TaskResult]) -> None:
        now = self.clock()
        final: dict[str, TaskResult] = {}
        statuses = self.backlog.take()
        for result in results:
            status = self._from_result(result, now) if result.message.task_id else None
            held = self._held.pop(result.message.task_id, None)
            if status is not None and held is not None:
                status = replace(
                    status, progress=held.progress, cancel_requested_at=held.cancel_at, children=held.children
                )
            if status is not None and status.final:
                final[status.task_id] = result
                statuses.append(status)
            elif status is not None:
                self._write_retrying(status)
        if statuses:
            self._write_final(statuses, final)

    def _write_retrying(self, status: TaskStatus) -> None:
        self._write("retrying", status.task_id, lambda: self.table.put_if_newer(status))

    def _write_final(self, statuses: list[TaskStatus], results: dict[str, TaskResult]) -> None:
        """BatchWriteItem; what is not written is requeued (a success) or kept (a failure)."""
        written = self.table.put_batch(statuses, policy=self.policy)
        kept: list[TaskStatus] = []
        for status, error in written.failed:
            result = results.get(status.task_id)
            if error.sender_fault:  # a missing table or denied access: keeping it cannot help
                self._warn("final status refused", status.task_id, error)
            elif result is not None and isinstance(result.outcome, Succeeded):
                self._warn("final status not written; the task goes back to the queue", status.task_id, error)
                result.requeue(ErrorInfo(NOT_WRITTEN, str(error)), delay=self.requeue_delay)
                retrying = self._from_result(result, self.clock())
                if retrying is not None:  # conditional PutItem: may work while BatchWriteItem does not
                    self._write_retrying(retrying)
            else:
                self._warn("final status not written; kept for the next batch", status.task_id, error)
                kept.append(status)
        for status in self.backlog.keep(kept):
            self._warn("final status given up: the backlog is full", status.task_id, None)

    def _from_result(self, result: TaskResult, now: float) -> TaskStatus | None:
        message, outcome = result.message, result.outcome
        task_type = result.task.name if result.task else (message.task_type or NO_TASK_TYPE)
        started = result.started_at or now
        name: StatusName
        if isinstance(outcome, Succeeded):
            status = self._status(message, task_type, "succeeded", started, now)
            text = None if outcome.result is None else result_text(outcome.result_json())
            return replace(status, finished_at=status.updated_at, result=text)
        if isinstance(outcome, Failed):
            name = "failed"
        elif isinstance(outcome, Cancelled):
            name = "cancelled"
        elif isinstance(outcome, RetryLater):
            name = "retrying"
        else:  # pragma: no cover - Outcome is closed
            return None
        status = self._status(message, task_type, name, started, now)
        finished = status.updated_at if status.final else None
        return replace(
            status,
            finished_at=finished,
            error_type=outcome.error.type,
            error_message=clip_error(outcome.error.message),
        )

    def _status(
        self, message: TaskMessage, task_type: str, name: StatusName, started: float, now: float
    ) -> TaskStatus:
        return TaskStatus(
            task_id=message.task_id,
            task_type=task_type,
            status=name,
            attempt=message.receive_count,
            started_at=iso_from_epoch(started),
            updated_at=iso_from_epoch(now),
            expires_at=int(now) + self.ttl_seconds,
            correlation_id=message.correlation_id,
            caller=message.caller,
            parent_task_id=message.parent_task_id,
        )

    def _write(self, what: str, task_id: str, write: Callable[[], object]) -> object:
        """The write's answer (``False``: a conditional write lost), ``None`` when it failed."""
        try:
            return retry_call(write, policy=self.policy)
        except Exception as exc:
            self._warn(f"{what} status not written", task_id, exc)
            return None

    def _warn(self, message: str, task_id: str, error: Exception | EntryError | None) -> None:
        detail = (
            None
            if error is None
            else str(error)
            if isinstance(error, EntryError)
            else f"{type(error).__name__}: {error}"
        )
        self.logger.log(30, message, extra={"task_id": task_id, "error": detail})

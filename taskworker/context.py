"""What a handler may know about the run it is part of."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from taskworker.log import SupportsLogging, TaskLogger, task_identity

if TYPE_CHECKING:
    from datetime import datetime, timedelta

    from pydantic import BaseModel

    from taskworker.cancellation import CancelWatch
    from taskworker.handle import TaskHandle
    from taskworker.messages import TaskMessage
    from taskworker.middleware.followups import FollowUpSender
    from taskworker.progress import ProgressReporter
    from taskworker.registry import TaskDefinition


class Deadline:
    """When the current invocation (or the worker's lease) must be done by.

    The dispatcher refuses to start a task that cannot finish before it, and idempotency
    registers it so an attempt that dies mid-task leaves no lock behind for long. It asks
    its source every time (a Lambda context's own countdown is the authority), so it is
    checked once per message and must stay cheap.
    """

    __slots__ = ("_remaining", "_reserve", "_scale")

    def __init__(self, remaining: Callable[[], float], *, scale: float = 1.0, reserve: float = 0.0) -> None:
        self._remaining = remaining
        self._scale = scale
        self._reserve = reserve

    def reserving(self, seconds: float) -> Deadline:
        """The same deadline, ``seconds`` earlier: time kept for what follows the tasks."""
        if self is NEVER:
            return self
        return Deadline(self._remaining, scale=self._scale, reserve=self._reserve + seconds)

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        end = clock() + seconds
        return cls(lambda: end - clock())

    @classmethod
    def from_lambda_context(cls, context: Any) -> Deadline:
        """Use ``get_remaining_time_in_millis``; a context without it imposes no deadline."""
        remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
        if not callable(remaining_ms):
            return NEVER
        return cls(remaining_ms, scale=0.001)

    def remaining(self) -> float:
        """Seconds left; ``math.inf`` when there is no deadline."""
        left = float(self._remaining()) * self._scale - self._reserve
        return left if left > 0 else 0.0


NEVER = Deadline(lambda: math.inf)


class TaskContext:
    """Passed to handlers that declare a ``ctx: TaskContext`` parameter.

    ``attempt`` counts receives of this message (ApproximateReceiveCount), starting at 1.
    Everything is derived on access from the message, so building a context per message
    costs almost nothing and handlers that never ask for the logger never build one.
    """

    __slots__ = ("_base_logger", "_call", "_logger", "_message", "deadline", "task_type")

    def __init__(
        self,
        message: TaskMessage,
        task_type: str,
        deadline: Deadline,
        base_logger: SupportsLogging,
        call: TaskCall | None = None,
    ) -> None:
        self._message = message
        self.task_type = task_type
        self.deadline = deadline
        self._base_logger = base_logger
        self._logger: TaskLogger | None = None
        self._call = call
        """Where the status middleware hangs progress and cancellation (set in ``before_task``)."""

    def __repr__(self) -> str:
        return f"TaskContext(task_id={self.task_id!r}, task_type={self.task_type!r}, attempt={self.attempt})"

    @property
    def task_id(self) -> str:
        return self._message.task_id

    @property
    def attempt(self) -> int:
        return self._message.receive_count

    @property
    def idempotency_key(self) -> str | None:
        return self._message.idempotency_key

    @property
    def correlation_id(self) -> str | None:
        return self._message.correlation_id

    @property
    def parent_task_id(self) -> str | None:
        """The task that submitted this one with :meth:`submit`, if one did."""
        return self._message.parent_task_id

    @property
    def logger(self) -> TaskLogger:
        """A logger whose lines carry the task's identity (:func:`~taskworker.log.task_identity`)."""
        if self._logger is None:
            keys = {**task_identity(self._message), "task_type": self.task_type}
            self._logger = TaskLogger(self._base_logger, keys)
        return self._logger

    def remaining_seconds(self) -> float:
        """Seconds until the runtime's deadline (``math.inf`` without one)."""
        return self.deadline.remaining()

    def report_progress(self, done: float, total: float | None = None, message: str | None = None) -> None:
        """Show how far the task is in its status (``GET /tasks/{id}``, ``handle.status()``).

        Call it as often as you like: writes are coalesced to about one per second per
        task and the last value is written with the task's next status. Without a status
        table it does nothing; a failed write is logged, never raised.
        """
        _check_number("done", done)
        if total is not None:
            _check_number("total", total)
        if message is not None and not isinstance(message, str):
            raise TypeError(f"report_progress: message must be a str, not {type(message).__name__}")
        reporter = None if self._call is None else self._call.progress
        if reporter is not None:
            reporter.report(done, total, message[:MAX_PROGRESS_MESSAGE] if message else None)

    def cancel_requested(self) -> bool:
        """Whether the caller asked to cancel this task (``handle.cancel()``).

        Cheap enough for every loop iteration: the answer is cached and refreshed by at
        most one status read per few seconds. A handler that sees ``True`` should stop and
        ``raise TaskCancelledError()``; one that finishes anyway keeps its result. Without a
        status table it is always ``False``.
        """
        watch = None if self._call is None else self._call.cancel
        return watch is not None and watch.requested()

    def submit(
        self,
        task_type: str,
        payload: Any,
        *,
        key: str | None = None,
        delay: timedelta | None = None,
        at: datetime | None = None,
        group_id: str | None = None,
    ) -> TaskHandle:
        """Submit a follow-up task: same wire format as any producer, this task's
        correlation id and its id as ``parent_task_id``; its id joins this task's status
        (``children``). A retried task creates no second child: see
        :mod:`taskworker.middleware.followups` (``key`` names the follow-up when the order
        of submissions can change between attempts). ``delay``/``at`` as in
        :meth:`TaskClient.submit <taskworker.client.TaskClient.submit>`.
        """
        sender = None if self._call is None else self._call.follow_ups
        if sender is None:
            from taskworker.errors import TaskworkerError

            raise TaskworkerError(
                "ctx.submit works inside a task run by the app (Lambda, worker, app.testing)"
            )
        return sender.submit(task_type, payload, key=key, delay=delay, at=at, group_id=group_id)


MAX_PROGRESS_MESSAGE = 500
"""Characters of a progress message kept; the status item is not a log."""


def _check_number(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TypeError(f"report_progress: {name} must be a finite number, not {value!r}")


class TaskCall:
    """One validated message on its way through the handler.

    ``context`` is built on first access: most handlers and middleware never need it, and
    this object is created once per message on the hot path.
    """

    __slots__ = (
        "_context",
        "cancel",
        "deadline",
        "duplicate",
        "follow_ups",
        "logger",
        "message",
        "payload",
        "progress",
        "task",
    )

    def __init__(
        self,
        message: TaskMessage,
        task: TaskDefinition,
        payload: BaseModel,
        deadline: Deadline,
        logger: SupportsLogging,
    ) -> None:
        self.message = message
        self.task = task
        self.payload = payload
        self.deadline = deadline
        self.logger = logger
        self.duplicate = False
        """Set by idempotency when the result came from its store, not from the handler."""
        self._context: TaskContext | None = None
        self.progress: ProgressReporter | None = None
        """Where ``ctx.report_progress`` goes; set by the status middleware."""
        self.cancel: CancelWatch | None = None
        """What ``ctx.cancel_requested`` asks; set by the status middleware."""
        self.follow_ups: FollowUpSender | None = None
        """Where ``ctx.submit`` goes; set by the follow-ups middleware."""

    @property
    def context(self) -> TaskContext:
        if self._context is None:
            self._context = TaskContext(self.message, self.task.name, self.deadline, self.logger, self)
        return self._context

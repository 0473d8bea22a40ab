"""Middleware: cross-cutting concerns as named hooks around the one dispatch path.

Idempotency, in-process retries, task status, result events and metrics each live in one
middleware instead of being re-implemented per runtime. The dispatcher calls the hooks in
a fixed order for every message, whichever runtime received it:

``before_task`` -> ``wrap_handler`` (nested, first middleware outermost) -> ``after_task``,
and once per batch, after the runtime has dead-lettered what it must, ``after_batch``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import BaseModel

from taskworker.outcomes import ErrorInfo, Failed, Outcome, RetryLater, Succeeded

if TYPE_CHECKING:
    from taskworker.context import Deadline, TaskContext
    from taskworker.log import SupportsLogging
    from taskworker.messages import TaskMessage
    from taskworker.registry import TaskDefinition

HandlerCall = Callable[[], BaseModel | None]


class TaskCall:
    """One validated message on its way through the handler.

    ``context`` is built on first access: most handlers and middleware never need it, and
    this object is created once per message on the hot path.
    """

    __slots__ = ("_context", "deadline", "duplicate", "logger", "message", "payload", "started_at", "task")

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
        self.started_at = 0.0
        self._context: TaskContext | None = None

    @property
    def context(self) -> TaskContext:
        if self._context is None:
            from taskworker.context import TaskContext

            self._context = TaskContext(self.message, self.task.name, self.deadline, self.logger)
        return self._context


@dataclass(slots=True)
class TaskResult:
    """A message and what became of it, as the runtime must apply it.

    ``after_batch`` hooks may still change the outcome: a result event that could not be
    published turns a success back into a retry, so the event is not lost.
    """

    message: TaskMessage
    outcome: Outcome
    task: TaskDefinition | None = None
    duration_ms: float = 0.0
    dead_lettered: bool = False
    started_at: float = 0.0
    """Wall-clock time (epoch seconds) dispatch began; status and result events report it."""
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        """True when the message may be deleted from its source queue."""
        return type(self.outcome) is Succeeded or self.dead_lettered

    @property
    def finished(self) -> bool:
        """True when the task has a final answer (result events and status report it)."""
        return isinstance(self.outcome, Succeeded | Failed)

    def requeue(self, error: ErrorInfo, delay: float | None = None) -> None:
        """Send the message back to the queue instead of finishing it."""
        self.outcome = RetryLater(error=error, delay=delay)
        self.dead_lettered = False

    def visibility_delay(self) -> float | None:
        """Seconds until the message should be visible again, or ``None`` to leave it."""
        if isinstance(self.outcome, RetryLater):
            return self.outcome.delay
        if isinstance(self.outcome, Failed) and not self.dead_lettered:
            return 0.0  # let redrive (or the next attempt) see it at once
        return None


class Middleware:
    """Base class with no-op hooks; override the ones a concern needs."""

    def applies_to(self, task: TaskDefinition) -> bool:
        """Whether the task-level hooks run for ``task`` (asked once per task, then cached).

        Lets a concern stay off the hot path of tasks it has nothing to do with, such as
        in-process retries for a task whose policy allows a single attempt.
        """
        return True

    def before_task(self, call: TaskCall) -> None:
        """The payload is valid and the handler is about to run."""

    def wrap_handler(self, call: TaskCall, proceed: HandlerCall) -> BaseModel | None:
        """Run ``proceed()`` (the handler and inner middleware); may retry or short-circuit."""
        return proceed()

    def after_task(self, call: TaskCall, outcome: Outcome) -> None:
        """The handler finished (or failed); ``outcome`` is what the dispatcher decided."""

    def after_batch(self, results: Sequence[TaskResult]) -> None:
        """Every message of a batch has an outcome and dead-lettering is done."""


def compose(middleware: Sequence[Middleware], call: TaskCall, handler: HandlerCall) -> HandlerCall:
    """Nest ``wrap_handler`` hooks so that the first middleware is the outermost."""
    wrapped = handler
    for item in reversed(middleware):
        wrapped = _bind(item, call, wrapped)
    return wrapped


def _bind(item: Middleware, call: TaskCall, inner: HandlerCall) -> HandlerCall:
    return lambda: item.wrap_handler(call, inner)

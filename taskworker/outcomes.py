"""What became of one message: values, not exceptions.

The dispatcher returns exactly one of these for every message it is given; each runtime
maps them onto its own queue mechanics (report a batch item failure, delete, change the
visibility, send to the dead-letter queue). Keeping them as plain values means a runtime
never has to interpret exceptions, and tests can compare outcomes directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from taskworker.messages import TaskMessage
    from taskworker.registry import TaskDefinition


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """A failure as it travels on the wire: a short type name and a human message."""

    type: str
    message: str

    @classmethod
    def from_exception(cls, exc: BaseException) -> ErrorInfo:
        return cls(type=type(exc).__name__, message=str(exc) or type(exc).__name__)

    def as_dict(self) -> dict[str, str]:
        return {"type": self.type, "message": self.message}


@dataclass(frozen=True, slots=True)
class Succeeded:
    """The handler returned; ``result`` is its output model (``None`` for ``-> None`` tasks).

    ``duplicate`` is true when idempotency answered with a stored result and the handler
    did not run again.
    """

    result: BaseModel | None = None
    duplicate: bool = False

    def result_json(self) -> Any:
        """The result as JSON-compatible data, for events and status records."""
        return None if self.result is None else self.result.model_dump(mode="json")


@dataclass(frozen=True, slots=True)
class RetryLater:
    """Not done yet: make the message visible again after ``delay`` seconds.

    ``delay`` of ``None`` means "leave the queue's visibility timeout as it is".
    """

    error: ErrorInfo
    delay: float | None = None


@dataclass(frozen=True, slots=True)
class Failed:
    """Failed for good.

    ``permanent`` failures (bad input, :class:`~taskworker.PermanentError`) are sent to the
    dead-letter queue by the runtime at once. Non-permanent ones are transient errors on
    their last allowed receive: they go back to the queue and SQS's redrive policy moves
    them to the dead-letter queue, after the failure has been reported.
    """

    error: ErrorInfo
    permanent: bool = True


@dataclass(frozen=True, slots=True)
class Cancelled:
    """Stopped on request (:class:`~taskworker.errors.TaskCancelledError`): final, deleted
    from the queue, never retried or dead-lettered; ``error`` says why."""

    error: ErrorInfo


Outcome = Succeeded | RetryLater | Failed | Cancelled


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
    forwarded: bool = False
    """A task of another queue, sent on to that queue (SQS acknowledged the copy): this
    consumer deletes the message and reports nothing about it."""

    @property
    def done(self) -> bool:
        """True when the message may be deleted from its source queue."""
        outcome = type(self.outcome)
        return outcome is Succeeded or outcome is Cancelled or self.dead_lettered or self.forwarded

    @property
    def may_be_done(self) -> bool:
        """Whether dispatch left the message possibly done: a success, a cancellation or a
        permanent failure (``after_batch`` may still requeue it; settlement decides)."""
        outcome = self.outcome
        return isinstance(outcome, Succeeded | Cancelled) or (
            isinstance(outcome, Failed) and outcome.permanent
        )

    @property
    def finished(self) -> bool:
        """True when the task has a final answer (result events and status report it)."""
        return isinstance(self.outcome, Succeeded | Failed | Cancelled)

    def requeue(self, error: ErrorInfo, delay: float | None = None) -> None:
        """Send the message back to the queue instead of finishing it.

        A message already copied to the DLQ stays dead-lettered: requeueing it would put
        a second copy there on its next failure.
        """
        if not self.dead_lettered:
            self.outcome = RetryLater(error=error, delay=delay)

    def visibility_delay(self) -> float | None:
        """Seconds until the message should be visible again, or ``None`` to leave it."""
        if isinstance(self.outcome, RetryLater):
            return self.outcome.delay
        if isinstance(self.outcome, Failed) and not self.dead_lettered:
            return 0.0  # let redrive (or the next attempt) see it at once
        return None

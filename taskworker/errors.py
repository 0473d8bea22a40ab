"""Exceptions that handlers raise to steer what happens to their message.

A handler signals intent with an exception type, not with a return code: the dispatcher
turns these into :mod:`taskworker.outcomes` values, so no runtime ever has to guess.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


class TaskworkerError(Exception):
    """Base class of every error taskworker defines."""


class TaskDefinitionError(TaskworkerError, TypeError):
    """A task was declared wrongly; raised at decoration time, never per message."""


class PermanentError(TaskworkerError):
    """The task can never succeed: send it to the dead-letter queue now, do not retry.

    Raise it for errors that no retry can fix (a referenced record that does not exist,
    a payload that is valid but semantically impossible).
    """


class RetryableError(TaskworkerError):
    """A transient failure: try again later.

    ``delay`` (seconds) overrides the computed backoff before the message is seen again,
    for example from a ``Retry-After`` header of a rate-limited downstream API.

    On the message's last allowed receive it is reported as failed, unless the subclass
    sets ``final_on_last_receive = False`` (the task never started and someone else may
    still answer for it, as with an idempotency lock held by another attempt).
    """

    final_on_last_receive = True

    def __init__(self, message: str = "", *, delay: float | None = None) -> None:
        super().__init__(message)
        self.delay = delay


class AppLoadError(TaskworkerError):
    """``module:attribute`` does not name a :class:`~taskworker.TaskApp`."""


def validation_summary(exc: ValidationError) -> str:
    """Where and why validation failed, without echoing input values.

    Payloads may hold personal data; this text lands in logs, DLQ attributes and HTTP
    answers, so it names fields and rules only.
    """
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        location = ".".join(str(part) for part in error["loc"]) or "(body)"
        parts.append(f"{location}: {error['msg']}")
    return "; ".join(parts)


class TaskTimeoutError(TaskworkerError, TimeoutError):
    """A task ran past its declared ``timeout`` and was stopped (process pool) or
    cancelled (async handlers); like any other failure, its message is retried."""


class TaskFailedError(TaskworkerError):
    """Raised by ``handle.wait()``: the task ended ``failed``; ``error_type`` and
    ``error_message`` are what its status record says."""

    def __init__(self, task_id: str, error_type: str, error_message: str) -> None:
        self.task_id = task_id
        self.error_type = error_type
        self.error_message = error_message
        super().__init__(f"task {task_id} failed: {error_type}: {error_message}")


class TaskCancelledError(TaskworkerError):
    """The task was cancelled (``handle.cancel()``): a handler raises it when
    ``ctx.cancel_requested()`` is true, the runtime raises it for a task cancelled before it
    started, and ``handle.wait()`` raises it for a task whose status is ``cancelled``. The
    message is deleted, not retried and not dead-lettered."""


class TaskNotFoundError(TaskworkerError, LookupError):
    """Raised by ``handle.cancel()``: the status table has no record of ``task_id``. It was
    never submitted, its record expired (the table's TTL), or it is still queued: a task's
    record is written when its first attempt starts, and nothing can be cancelled before."""

    def __init__(self, task_id: str) -> None:
        self.task_id = task_id
        super().__init__(
            f"no status recorded for task {task_id} (never submitted, expired, or not started "
            "yet: a task has a record once it starts); nothing to cancel"
        )


class WaitTimeoutError(TaskworkerError, TimeoutError):
    """Raised by ``handle.wait()`` when its timeout passed before the task had a final
    status; the task itself is not stopped."""

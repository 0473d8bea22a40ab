"""In-process retries: the task's :class:`~taskworker.Retry` policy around its handler."""

from __future__ import annotations

from pydantic import BaseModel

from taskworker.context import TaskCall
from taskworker.middleware.base import HandlerCall, Middleware
from taskworker.registry import TaskDefinition


class InProcessRetries(Middleware):
    """Retry quick transient errors before giving the message back to the queue.

    It sits innermost, inside idempotency, so the whole series of tries holds one
    idempotency lock and a success stores its result once.
    """

    def applies_to(self, task: TaskDefinition) -> bool:
        return task.retry.attempts > 1

    def wrap_handler(self, call: TaskCall, proceed: HandlerCall) -> BaseModel | None:
        return call.task.retry.call(proceed)

"""Middleware: cross-cutting concerns as named hooks around the one dispatch path.

Idempotency, in-process retries, task status, result events and metrics each live in one
middleware instead of being re-implemented per runtime. The dispatcher calls the hooks in
a fixed order for every message, whichever runtime received it:

``before_task`` -> ``wrap_handler`` (nested, first middleware outermost) -> ``after_task``,
and once per batch ``after_batch``, in order, dead-lettering first.

Like dramatiq's broker, the core isolates the hooks: one that raises is logged with the
task's identity and the hook's name and never escapes dispatch or a batch. A raising
``before_task`` or ``wrap_handler`` counts as the handler failing (the task did not run);
a raising ``after_task`` or ``after_batch`` leaves the outcome as it was (a failed
``after_batch`` step's changes are undone), and a message the DLQ acknowledged stays
dead-lettered, so it is never copied there twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel

from taskworker.context import TaskCall
from taskworker.outcomes import Outcome, TaskResult

if TYPE_CHECKING:
    from taskworker.registry import TaskDefinition

HandlerCall = Callable[[], BaseModel | None]


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
        """Every message of a batch has an outcome; earlier steps (dead-lettering first) ran."""


def compose(middleware: Sequence[Middleware], call: TaskCall, handler: HandlerCall) -> HandlerCall:
    """Nest ``wrap_handler`` hooks so that the first middleware is the outermost."""
    wrapped = handler
    for item in reversed(middleware):
        wrapped = _bind(item, call, wrapped)
    return wrapped


def _bind(item: Middleware, call: TaskCall, inner: HandlerCall) -> HandlerCall:
    return lambda: item.wrap_handler(call, inner)

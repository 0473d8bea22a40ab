"""Follow-ups: tasks a handler submits with ``ctx.submit``.

They go through the app's :class:`~taskworker.client.TaskClient` (the one send path, so
validation, routing to each task's queue, delays and one-time schedules are the producer's)
and carry the parent's correlation id (or, when it has none, the parent's task id, so a
chain always shares one) and its task id as ``parent_task_id``.

A parent that is retried runs its ``ctx.submit`` calls again. So that this creates no
second child, each child's task id is derived from the parent's task id and the call's
``key`` (by default its position among the parent's submissions, 0, 1, ...); it is also
the child's idempotency key (and so its FIFO deduplication id). With idempotency on, a
repeated child is answered from the store instead of running twice; a one-time schedule of
the same id already exists and is not created again. Give ``key=`` when the order or the
number of follow-ups can differ between attempts.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from taskworker.middleware.base import Middleware

if TYPE_CHECKING:
    from taskworker.client import TaskClient
    from taskworker.context import TaskCall
    from taskworker.handle import TaskHandle
    from taskworker.messages import TaskMessage
    from taskworker.registry import TaskDefinition

_NAMESPACE = uuid.UUID("6f3b1c52-3c1e-4d55-9a43-6d7a2f0b9e21")
"""Child task ids are uuid5 in this namespace, so they look like any other task id."""


def child_task_id(parent_task_id: str, key: str) -> str:
    """The task id of the parent's follow-up ``key``: the same on every attempt."""
    return str(uuid.uuid5(_NAMESPACE, f"{parent_task_id}/{key}"))


@dataclass(frozen=True, slots=True)
class SubmittedTask:
    """One follow-up as it was submitted (what ``TaskRun.submitted`` lists)."""

    task_id: str
    task_type: str
    payload: Any
    parent_task_id: str
    correlation_id: str
    delay: timedelta | None = None
    at: datetime | None = None


class FollowUpSender:
    """``ctx.submit`` for one task call; remembers what it sent, in order."""

    __slots__ = ("_parent", "_producer", "sent")

    def __init__(self, parent: TaskMessage, producer: Callable[[], TaskClient]) -> None:
        self._parent = parent
        self._producer = producer
        self.sent: list[SubmittedTask] = []

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
        from taskworker.client import TaskRequest

        parent = self._parent
        task_id = child_task_id(parent.task_id, str(len(self.sent)) if key is None else f"key:{key}")
        correlation_id = parent.correlation_id or parent.task_id
        request = TaskRequest(
            task_type,
            payload,
            idempotency_key=task_id,
            correlation_id=correlation_id,
            group_id=group_id,
            task_id=task_id,
            parent_task_id=parent.task_id,
        )
        handle = self._producer().submit_request(request, delay=delay, at=at)
        self.sent.append(
            SubmittedTask(task_id, task_type, payload, parent.task_id, correlation_id, delay, at)
        )
        return handle

    @property
    def children(self) -> tuple[str, ...]:
        return tuple(task.task_id for task in self.sent)


class FollowUps(Middleware):
    """Hands each task that takes a ``ctx`` its :class:`FollowUpSender`."""

    def __init__(self, producer: Callable[[], TaskClient]) -> None:
        self.producer = producer

    def applies_to(self, task: TaskDefinition) -> bool:
        return task.takes_context

    def before_task(self, call: TaskCall) -> None:
        call.follow_ups = FollowUpSender(call.message, self.producer)

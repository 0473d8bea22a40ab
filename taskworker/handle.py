"""A submitted task, as its caller holds it: read its status, wait for its typed result.

Waiting polls the status table (one consistent GetItem per poll) with a jittered,
capped backoff. Polling was chosen over a subscription to the result topic because the
status table is what both the deployed API and ``taskworker dev`` already keep, it needs
no queue or subscription per caller, and a caller that restarts can resume waiting from
the task id alone. The clock, sleep and random source are injectable so tests never sleep.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

from taskworker.errors import TaskCancelledError, TaskFailedError, WaitTimeoutError

if TYPE_CHECKING:
    from taskworker.status import TaskStatus


class StatusSource(Protocol):
    """Where a handle reads and cancels: :class:`~taskworker.client.TaskClient`."""

    def status(self, task_id: str) -> TaskStatus | None: ...

    def cancel(self, task_id: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays between polls: ``first``, growing by ``factor`` up to ``cap``, each scaled by
    a random factor in ``[1 - jitter, 1]`` so many waiters do not poll in step."""

    first: float = 0.2
    factor: float = 1.5
    cap: float = 5.0
    jitter: float = 0.5
    random: Callable[[], float] = field(default=random.random, compare=False)

    def delay(self, poll: int) -> float:
        """The pause after the ``poll``-th status read (counted from 0)."""
        base = min(self.cap, self.first * self.factor**poll)
        return base * (1.0 - self.jitter * self.random())


class TaskHandle:
    """One submitted task: ``task_id``, :meth:`status`, :meth:`wait`, :meth:`wait_async`
    and :meth:`cancel`.

    ``str(handle)`` is the task id, so code that printed or stored the id keeps working.
    """

    __slots__ = ("_source", "output_model", "task_id")

    def __init__(
        self, task_id: str, source: StatusSource, output_model: type[BaseModel] | None = None
    ) -> None:
        self.task_id = task_id
        self._source = source
        self.output_model = output_model
        """The model :meth:`wait` parses the result into; ``None`` returns the JSON value."""

    def __str__(self) -> str:
        return self.task_id

    def __repr__(self) -> str:
        return f"TaskHandle(task_id={self.task_id!r})"

    def status(self) -> TaskStatus | None:
        """The task's status record, or ``None`` while it has none (not started yet,
        unknown, or expired after the status table's TTL)."""
        return self._source.status(self.task_id)

    def cancel(self) -> bool:
        """Ask for the task to be cancelled: ``True`` when the request is recorded, ``False``
        when the task already finished; raises :class:`~taskworker.TaskNotFoundError` when its
        status has no record (never submitted, expired, or still queued: a task gets its
        record when its first attempt starts).

        A task whose next attempt has not started is never run again (it ends ``cancelled``);
        a running one sees ``ctx.cancel_requested()`` and may stop, or finish and keep its result.
        """
        return self._source.cancel(self.task_id)

    def wait(
        self,
        timeout: float,
        *,
        backoff: Backoff = Backoff(),
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> Any:
        """Block until the task has a final status and return its result.

        Returns the output model (or the JSON value, or ``None`` when the task returned
        nothing or its result was too large to store); raises :class:`~taskworker.TaskFailedError`
        for a failed task, :class:`~taskworker.TaskCancelledError` for a cancelled one, and
        :class:`~taskworker.WaitTimeoutError` (a ``TimeoutError``)
        when ``timeout`` seconds pass first. The task itself goes on either way.
        """
        end = clock() + timeout
        poll = 0
        while True:
            status = self.status()
            if status is not None and status.final:
                return self._outcome(status)
            pause = self._pause(backoff, poll, end - clock())
            sleep(pause)
            poll += 1

    async def wait_async(
        self,
        timeout: float,
        *,
        backoff: Backoff = Backoff(),
        clock: Callable[[], float] = time.monotonic,
    ) -> Any:
        """:meth:`wait` for asyncio: the status read runs in a thread, so the event loop
        is never blocked by boto3."""
        end = clock() + timeout
        poll = 0
        while True:
            status = await asyncio.to_thread(self.status)
            if status is not None and status.final:
                return self._outcome(status)
            await asyncio.sleep(self._pause(backoff, poll, end - clock()))
            poll += 1

    def _pause(self, backoff: Backoff, poll: int, left: float) -> float:
        """The next pause, never past the deadline; raises once the deadline has passed."""
        if left <= 0:
            raise WaitTimeoutError(f"task {self.task_id} has no final status yet; it may still finish")
        return min(backoff.delay(poll), left)

    def _outcome(self, status: TaskStatus) -> Any:
        if status.status == "cancelled":
            raise TaskCancelledError(f"task {self.task_id} was cancelled")
        if status.status != "succeeded":
            raise TaskFailedError(self.task_id, status.error_type or "", status.error_message or "")
        if status.result is None:
            return None
        if self.output_model is None:
            return json.loads(status.result)
        return self.output_model.model_validate_json(status.result)

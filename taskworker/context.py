"""What a handler may know about the run it is part of."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from taskworker.log import TaskLogger


class LambdaContextLike(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


class Deadline:
    """When the current invocation (or the worker's lease) must be done by.

    The dispatcher refuses to start a task that cannot finish before it, and idempotency
    registers it so an attempt that dies mid-task leaves no lock behind for long.
    """

    __slots__ = ("_remaining",)

    def __init__(self, remaining: Callable[[], float]) -> None:
        self._remaining = remaining

    @classmethod
    def never(cls) -> Deadline:
        return cls(lambda: math.inf)

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        end = clock() + seconds
        return cls(lambda: end - clock())

    @classmethod
    def from_lambda_context(cls, context: Any) -> Deadline:
        """Use ``get_remaining_time_in_millis``; a context without it imposes no deadline."""
        remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
        if not callable(remaining_ms):
            return cls.never()
        return cls(lambda: remaining_ms() / 1000.0)

    def remaining(self) -> float:
        """Seconds left; ``math.inf`` when there is no deadline."""
        return max(0.0, float(self._remaining()))


@dataclass(frozen=True, slots=True)
class TaskContext:
    """Passed to handlers that declare a ``ctx: TaskContext`` parameter.

    ``attempt`` counts receives of this message (ApproximateReceiveCount), starting at 1.
    """

    task_id: str
    task_type: str
    attempt: int
    logger: TaskLogger
    deadline: Deadline
    idempotency_key: str | None = None
    correlation_id: str | None = None

    def remaining_seconds(self) -> float:
        """Seconds until the runtime's deadline (``math.inf`` without one)."""
        return self.deadline.remaining()

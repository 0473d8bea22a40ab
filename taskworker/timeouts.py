"""Holding a task to its declared ``timeout``, where it can be done safely.

- ``async def`` handlers are cancelled at their timeout (:func:`within`), in every runtime.
- Sync handlers in the process pool's children are interrupted by ``SIGALRM``
  (:func:`alarm_within`): each child runs one task at a time in its main thread and owns
  its signals, so nothing else is hit.
- Sync handlers on threads cannot be stopped from outside; the worker lets their
  message go and reports them instead (see :mod:`taskworker.handlers.worker`).

Either way the task fails with :class:`~taskworker.errors.TaskTimeoutError` and its
message is retried like any other failure.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Coroutine
from types import FrameType
from typing import Any, TypeVar

from taskworker.errors import TaskTimeoutError

T = TypeVar("T")


async def within(coro: Coroutine[Any, Any, T], seconds: float) -> T:
    """Await ``coro``, cancelling it after ``seconds``; a ``TimeoutError`` of its own passes."""
    import asyncio

    scope = asyncio.timeout(seconds)
    try:
        async with scope:
            return await coro
    except TimeoutError:
        if scope.expired():
            raise TaskTimeoutError(f"cancelled after its timeout of {seconds:g}s") from None
        raise


def alarm_within(fn: Callable[[], T], seconds: float) -> T:
    """Run ``fn`` in the main thread, interrupting it with ``SIGALRM`` after ``seconds``."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise TaskTimeoutError(f"stopped after its timeout of {seconds:g}s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

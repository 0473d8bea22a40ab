"""What a batch could not record, kept for the next batch: unpublished events, unwritten statuses.

A failed task's event or final status cannot go back to the queue with its message the
way a success can (idempotency replays a success; a failure is already in the DLQ or on
its way there, so requeueing would only copy it twice). So the middleware keeps it here,
in the consumer's memory, and tries again with the next batch it settles. The backlog is
bounded: when it is full the oldest item is given up, and the caller logs that.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")

DEFAULT_LIMIT = 1_000


class Backlog(Generic[T]):
    """A bounded, thread-safe queue of items waiting for another try."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self._items: deque[T] = deque()
        self._limit = limit
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def keep(self, items: list[T]) -> list[T]:
        """Add ``items``; returns the ones given up to stay within the limit (oldest first)."""
        dropped: list[T] = []
        with self._lock:
            self._items.extend(items)
            while len(self._items) > self._limit:
                dropped.append(self._items.popleft())
        return dropped

    def take(self) -> list[T]:
        """Everything waiting, removed from the backlog (put back with :meth:`keep`)."""
        with self._lock:
            items = list(self._items)
            self._items.clear()
        return items

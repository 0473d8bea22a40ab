"""An in-memory idempotency store, so idempotency can be tested offline.

It keeps :class:`~taskworker.middleware.idempotency.IdempotencyRecord` values in a dict
under the same rules as the DynamoDB store's conditional writes: a lock is taken when the
key has no record, its record expired, its lock ran out (and was a task's with the same
body), or the lock is the caller's own;
renewing and releasing touch only the caller's own lock. Use it with the test kit::

    from taskworker.testing import InMemoryPersistenceLayer, TaskTester

    tester = TaskTester(app, idempotency=InMemoryPersistenceLayer())
    tester.run("report.generate", payload, idempotency_key="k1")  # runs the handler
    tester.run("report.generate", payload, idempotency_key="k1")  # Succeeded(duplicate=True)
"""

from __future__ import annotations

import threading
from dataclasses import replace

from taskworker.middleware.idempotency import IN_PROGRESS, IdempotencyRecord


class InMemoryPersistenceLayer:
    """Idempotency records in a dict, with the DynamoDB store's conditional semantics."""

    def __init__(self) -> None:
        self.records: dict[str, IdempotencyRecord] = {}
        self.calls: list[str] = []
        """Operation names in order (``acquire``, ``complete``, ``renew``, ``release``)."""
        self._lock = threading.Lock()

    def acquire(self, record: IdempotencyRecord, now: float) -> IdempotencyRecord | None:
        with self._lock:
            self.calls.append("acquire")
            standing = self.records.get(record.key)
            if standing is not None and standing.owner != record.owner and _blocks(standing, record, now):
                return standing
            self.records[record.key] = record
            return None

    def complete(self, record: IdempotencyRecord) -> None:
        with self._lock:
            self.calls.append("complete")
            self.records[record.key] = record

    def renew(self, key: str, owner: str, locked_until_ms: int) -> None:
        with self._lock:
            self.calls.append("renew")
            standing = self.records.get(key)
            if _owned(standing, owner):
                assert standing is not None
                self.records[key] = replace(standing, locked_until_ms=locked_until_ms)

    def release(self, key: str, owner: str) -> None:
        with self._lock:
            self.calls.append("release")
            if _owned(self.records.get(key), owner):
                del self.records[key]


def _blocks(standing: IdempotencyRecord, record: IdempotencyRecord, now: float) -> bool:
    """Whether ``standing`` is in the way of ``record``'s attempt: live, and completed,
    locked, or a run-out lock of a task with another body."""
    if standing.expires_at < int(now):
        return False
    locked = standing.lock_seconds_left(now) > 0 or standing.refuses(record.payload_hash)
    return standing.status != IN_PROGRESS or locked


def _owned(record: IdempotencyRecord | None, owner: str) -> bool:
    return record is not None and record.status == IN_PROGRESS and record.owner == owner

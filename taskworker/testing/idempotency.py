"""An in-memory idempotency store, so idempotency can be tested offline.

It keeps :class:`~taskworker.middleware.idempotency.IdempotencyRecord` values in a dict
under the same rules as the DynamoDB store's conditional writes: a lock is taken when the
key has no record, its record expired, its lock ran out, or the lock is the caller's own;
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
            if standing is not None and standing.owner != record.owner and _blocks(standing, now):
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


def _blocks(record: IdempotencyRecord, now: float) -> bool:
    """Whether ``record`` stands in a new attempt's way: live, and completed or locked."""
    if record.expires_at < int(now):
        return False
    return record.status != IN_PROGRESS or record.lock_seconds_left(now) > 0


def _owned(record: IdempotencyRecord | None, owner: str) -> bool:
    return record is not None and record.status == IN_PROGRESS and record.owner == owner

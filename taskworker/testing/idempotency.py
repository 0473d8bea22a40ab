"""An in-memory powertools persistence layer, so idempotency can be tested offline.

It keeps records in a dict under the same rules as powertools' DynamoDB layer: a put
succeeds only when the key is absent, its record expired, or it is an in-progress record
whose lock expired; otherwise it raises ``IdempotencyItemAlreadyExistsError`` carrying the
stored record, exactly like a failed conditional write. Use it with the test kit::

    from taskworker.testing import InMemoryPersistenceLayer, TaskTester

    tester = TaskTester(app, idempotency=InMemoryPersistenceLayer())
    tester.run("report.generate", payload, idempotency_key="k1")  # runs the handler
    tester.run("report.generate", payload, idempotency_key="k1")  # Succeeded(duplicate=True)

Importing this module imports powertools' idempotency package (and boto3 with it); the
testing kit's ``__init__`` imports it lazily for that reason.
"""

from __future__ import annotations

import threading
import time

from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import STATUS_CONSTANTS, DataRecord


class InMemoryPersistenceLayer(BasePersistenceLayer):
    """Idempotency records in a dict, with DynamoDB's conditional-write semantics."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.records: dict[str, DataRecord] = {}
        self.calls: list[str] = []
        """Operation names in order (``get``, ``put``, ``update``, ``delete``), for assertions."""
        self._lock = threading.Lock()

    def _get_record(self, idempotency_key: str) -> DataRecord:
        with self._lock:
            self.calls.append("get")
            record = self.records.get(idempotency_key)
        if record is None:
            raise IdempotencyItemNotFoundError
        return record

    def _put_record(self, data_record: DataRecord) -> None:
        with self._lock:
            self.calls.append("put")
            old = self.records.get(data_record.idempotency_key)
            if old is not None and not _replaceable(old):
                raise IdempotencyItemAlreadyExistsError(old_data_record=old)
            self.records[data_record.idempotency_key] = data_record

    def _update_record(self, data_record: DataRecord) -> None:
        with self._lock:
            self.calls.append("update")
            self.records[data_record.idempotency_key] = data_record

    def _delete_record(self, data_record: DataRecord) -> None:
        with self._lock:
            self.calls.append("delete")
            self.records.pop(data_record.idempotency_key, None)


def _replaceable(record: DataRecord) -> bool:
    """The same three cases in which the DynamoDB layer's condition lets a put through."""
    now = time.time()
    if record.expiry_timestamp is not None and record.expiry_timestamp < int(now):
        return True
    lock = record.in_progress_expiry_timestamp
    return record.status == STATUS_CONSTANTS["INPROGRESS"] and lock is not None and lock < int(now * 1000)

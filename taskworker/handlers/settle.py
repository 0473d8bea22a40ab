"""Settling finished tasks in batches: finish_batch, then delete or return each message.

Tasks finish one by one, but SQS charges per request, and DeleteMessageBatch takes ten
receipt handles for the price of one. So finished results (and messages given back
unstarted) are queued here and settled together when ten are pending or when the oldest
has waited ``linger`` seconds. Each settle runs the core's ``finish_batch`` once (DLQ,
result events, status, all batched too) and then applies each
:class:`~taskworker.settlement.Settlement` exactly as the core decided: ``delete`` ->
DeleteMessageBatch, else ``delay`` -> ChangeMessageVisibilityBatch. Only then does a FIFO
group learn whether it may go on (``on_settled``), so a later message never overtakes one
that ``finish_batch`` turned back into a retry. Failed entries are retried; what still
fails is logged (an undeleted message comes back and idempotency absorbs the repeat, so it
is never lost).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from taskworker.aws.batch import DEFAULT_POLICY, DELETE_MESSAGES, RetryPolicy, call_batch
from taskworker.handlers.heartbeat import Leases
from taskworker.handlers.visibility import change_visibility
from taskworker.messages import TaskMessage
from taskworker.outcomes import TaskResult

if TYPE_CHECKING:
    from taskworker.dispatch import Dispatcher
    from taskworker.settlement import Settlement

OnSettled = Callable[[Sequence["Settlement"]], list[TaskMessage]]
"""Told each batch's settlements before they are applied; returns messages to give back
at once (a FIFO group's waiting messages, when the group may not go on)."""

BATCH_SIZE = 10


def delete_messages(
    sqs: Any, queue_url: str, handles: Sequence[str], *, policy: RetryPolicy = DEFAULT_POLICY
) -> list[str]:
    """DeleteMessageBatch through the batch helper; returns the handles that were not deleted.

    Sender faults (a receipt handle that expired) are returned at once, never retried.
    """
    result = call_batch(
        sqs, DELETE_MESSAGES, queue_url, handles, lambda handle: {"ReceiptHandle": handle}, policy=policy
    )
    return result.failed_items()


class Settler:
    """Collects finished results and unstarted messages; settles them in batches on a thread."""

    def __init__(
        self,
        core: Dispatcher,
        sqs: Any,
        queue_url: str,
        leases: Leases,
        *,
        on_settled: OnSettled = lambda settlements: [],
        linger: float = 0.05,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self._core = core
        self._sqs = sqs
        self._queue_url = queue_url
        self._leases = leases
        self._on_settled = on_settled
        self._linger = linger
        self._batch_size = batch_size
        self._inbox: queue.Queue[TaskResult | TaskMessage | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="taskworker-settle", daemon=True)
        self.settled = 0

    def start(self) -> None:
        self._thread.start()

    def put(self, item: TaskResult | TaskMessage) -> None:
        """A finished result, or a message to make visible again at once (never started)."""
        self._inbox.put(item)

    def close(self) -> None:
        """Settle everything queued so far, then stop."""
        self._inbox.put(None)
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        closing = False
        while not closing:
            batch, closing = self._collect()
            if batch:
                self.settle(batch)

    def _collect(self) -> tuple[list[TaskResult | TaskMessage], bool]:
        """Wait for one item, then for more until the batch is full or the linger ends.

        Lingering only pays while other messages are held and may still join the batch:
        on a quiet queue the one finished task is settled at once, not 50 ms later.
        """
        first = self._inbox.get()
        if first is None:
            return [], True
        batch = [first]
        flush_at = time.monotonic() + self._linger
        while len(batch) < self._batch_size and len(self._leases) > len(batch):
            try:
                item = self._inbox.get(timeout=max(0.0, flush_at - time.monotonic()))
            except queue.Empty:
                break
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    def settle(self, batch: Sequence[TaskResult | TaskMessage]) -> None:
        results = [item for item in batch if isinstance(item, TaskResult)]
        releases = [item for item in batch if isinstance(item, TaskMessage)]
        settlements = self._core.finish_batch(results) if results else []
        releases += self._on_settled(settlements)
        changes = [(m.receipt_handle, 0.0) for m in releases if m.receipt_handle]
        deletes: list[str] = []
        for settlement in settlements:
            handle = settlement.result.message.receipt_handle
            if handle and settlement.delete:
                deletes.append(handle)
            elif handle and settlement.delay is not None:
                changes.append((handle, settlement.delay))
        with self._leases.lock:
            self._leases.remove([r.message for r in results] + releases)
        self._apply(deletes, changes)
        self.settled += len(results)

    def _apply(self, deletes: list[str], changes: list[tuple[str, float]]) -> None:
        logger = self._core.logger
        if deletes:
            lost = delete_messages(self._sqs, self._queue_url, deletes)
            if lost:
                logger.log(
                    40,
                    "could not delete finished messages; they will be delivered again",
                    extra={"messages": len(lost)},
                )
        if changes:
            failed = change_visibility(self._sqs, self._queue_url, changes)
            if failed:
                logger.log(
                    30,
                    "could not change visibility; messages return after their timeout",
                    extra={"messages": len(failed)},
                )

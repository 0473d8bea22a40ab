"""Settling finished tasks in batches: finish_batch, then delete or return each message.

Tasks finish one by one, but SQS charges per request, and DeleteMessageBatch takes ten
receipt handles for the price of one. So finished results (and messages given back
unstarted) are queued here and settled together when ten are pending or when the oldest
has waited ``linger`` seconds; a task that finishes wakes the settler only when it starts,
fills or completes a batch, not once per result. Each settle runs the core's ``finish_batch`` once (DLQ,
result events, status, all batched too) and then applies each
:class:`~taskworker.settlement.Settlement` exactly as the core decided: ``delete`` ->
DeleteMessageBatch, else ``delay`` -> ChangeMessageVisibilityBatch. Only then does a FIFO
group learn whether it may go on (``on_settled``), so a later message never overtakes one
that ``finish_batch`` turned back into a retry. Failed entries are retried; what still
fails is logged (an undeleted message comes back and idempotency absorbs the repeat, so it
is never lost).
"""

from __future__ import annotations

import threading
import time
from collections import deque
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
        self._pending: deque[TaskResult | TaskMessage] = deque()
        self._arrived = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="taskworker-settle", daemon=True)
        self.settled = 0

    def start(self) -> None:
        self._thread.start()

    def put(self, item: TaskResult | TaskMessage) -> None:
        """A finished result, or a message to make visible again at once (never started).

        Wakes the settler only when this item starts a batch (its linger begins), fills
        one, or is the last held message (nothing more can join): not once per item.
        """
        with self._arrived:
            self._pending.append(item)
            if self._batch_complete() or len(self._pending) == 1:
                self._arrived.notify()

    def close(self) -> None:
        """Settle everything queued so far, then stop."""
        with self._arrived:
            self._closing = True
            self._arrived.notify()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        closing = False
        while not closing:
            batch, closing = self._collect()
            if batch:
                self.settle(batch)

    def _batch_complete(self) -> bool:
        """Full, or every held message is in it (under ``_arrived``).

        Lingering only pays while other messages are held and may still join the batch:
        on a quiet queue the one finished task is settled at once, not 50 ms later.
        """
        pending = len(self._pending)
        return pending >= self._batch_size or pending >= len(self._leases)

    def _collect(self) -> tuple[list[TaskResult | TaskMessage], bool]:
        """Wait for one item, then for more until the batch is complete or the linger
        ends; returns the batch and whether to stop (closing and nothing left)."""
        with self._arrived:
            while not self._pending and not self._closing:
                self._arrived.wait()
            flush_at = time.monotonic() + self._linger
            while not (self._closing or self._batch_complete()):
                left = flush_at - time.monotonic()
                if left <= 0:
                    break
                self._arrived.wait(left)
            count = min(len(self._pending), self._batch_size)
            batch = [self._pending.popleft() for _ in range(count)]
            return batch, self._closing and not self._pending

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

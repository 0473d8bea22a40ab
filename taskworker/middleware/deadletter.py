"""Dead-lettering: the first ``after_batch`` step sends permanent failures to the DLQ.

SQS's own redrive can only move a message after ``maxReceiveCount`` receives and says
nothing about why. A message that can never succeed (bad JSON, unknown task type, invalid
payload, ``PermanentError``) is sent there at once instead, carrying ``error_type``,
``error_message``, ``task_type`` and ``failed_at`` next to its original body and
attributes. A message counts as dead-lettered only when SQS acknowledged its entry;
otherwise it stays on its source queue, so nothing is lost when the DLQ is unreachable.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from taskworker.messages import TaskMessage, dead_letter_attributes
from taskworker.middleware.base import Middleware
from taskworker.outcomes import ErrorInfo, Failed, TaskResult

if TYPE_CHECKING:
    from taskworker.registry import TaskDefinition

BATCH_SIZE = 10
SEND_ATTEMPTS = 3
UNAVAILABLE = ErrorInfo("DeadLetterQueueUnavailable", "could not send to the DLQ; retrying")


class DeadLettering(Middleware):
    """Sends every permanent failure of a batch to the DLQ before any other step runs.

    It is first in the ``after_batch`` chain, so result events, status and metrics see
    each message's final fate: a failure the DLQ did not acknowledge goes back to its
    queue (``DeadLetterQueueUnavailable``) instead of being reported as dead-lettered.
    """

    def __init__(self, queue: DeadLetterQueue) -> None:
        self.queue = queue

    def applies_to(self, task: TaskDefinition) -> bool:
        return False  # no per-task hooks: it acts on whole batches only

    def after_batch(self, results: Sequence[TaskResult]) -> None:
        permanent = [r for r in results if isinstance(r.outcome, Failed) and r.outcome.permanent]
        if not permanent:
            return
        self.queue.send(permanent)
        for result in permanent:
            if not result.dead_lettered:
                result.requeue(UNAVAILABLE)


class DeadLetterQueue:
    """Sends failed messages to ``url`` in batches, retrying failed entries."""

    def __init__(self, url: str, sqs: Callable[[], Any], *, retry_pause: float = 0.2) -> None:
        self.url = url
        self.fifo = url.endswith(".fifo")
        self._sqs = sqs
        self._retry_pause = retry_pause

    def send(self, results: Sequence[TaskResult]) -> None:
        """Mark each result ``dead_lettered`` once its message is safely in the DLQ."""
        pending = {str(index): result for index, result in enumerate(results)}
        for attempt in range(SEND_ATTEMPTS):
            if attempt:
                time.sleep(self._retry_pause * 2 ** (attempt - 1))
            pending = self._send_round(pending)
            if not pending:
                return

    def _send_round(self, pending: dict[str, TaskResult]) -> dict[str, TaskResult]:
        failed: dict[str, TaskResult] = {}
        ids = list(pending)
        for start in range(0, len(ids), BATCH_SIZE):
            chunk = {entry_id: pending[entry_id] for entry_id in ids[start : start + BATCH_SIZE]}
            failed.update(self._send_chunk(chunk))
        return failed

    def _send_chunk(self, chunk: dict[str, TaskResult]) -> dict[str, TaskResult]:
        entries = [self._entry(entry_id, result) for entry_id, result in chunk.items()]
        try:
            response = self._sqs().send_message_batch(QueueUrl=self.url, Entries=entries)
        except Exception:
            return chunk  # the whole call failed: every entry is retried
        for success in response.get("Successful", []):
            chunk[success["Id"]].dead_lettered = True
        return {f["Id"]: chunk[f["Id"]] for f in response.get("Failed", []) if f["Id"] in chunk}

    def _entry(self, entry_id: str, result: TaskResult) -> dict[str, Any]:
        assert isinstance(result.outcome, Failed)
        message = result.message
        error = result.outcome.error
        attributes = dead_letter_attributes(message, error.type, error.message)
        entry: dict[str, Any] = {
            "Id": entry_id,
            "MessageBody": message.body or " ",  # SQS refuses empty bodies
            "MessageAttributes": {
                name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
            },
        }
        if self.fifo:
            entry["MessageGroupId"] = _group(message)
            entry["MessageDeduplicationId"] = (message.task_id or "unknown")[:128]
        return entry


def _group(message: TaskMessage) -> str:
    return message.group_id or message.task_type or "taskworker"

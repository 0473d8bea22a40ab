"""Dead-lettering: the first ``after_batch`` step sends permanent failures to the DLQ.

SQS's own redrive can only move a message after ``maxReceiveCount`` receives and says
nothing about why. A message that can never succeed (bad JSON, unknown task type, invalid
payload, ``PermanentError``) is sent there at once instead: a copy of its body with the
original task id (``task_id``), the reason (``error_type``, ``error_message``,
``failed_at``), ``task_type`` and its original attributes with their types.

Copies always fit: the batch helper splits requests by count and by SQS's 1 MiB per
request, and each copy is fitted to the DLQ's own ``MaximumMessageSize`` (read once),
reason first. A message counts as dead-lettered only when SQS acknowledged its copy;
otherwise it stays on its source queue (``DeadLetterQueueUnavailable``) and the log names
SQS's error, so nothing is lost when the DLQ is unreachable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from taskworker.aws.batch import DEFAULT_POLICY, SEND_MESSAGES, BatchResult, RetryPolicy, call_batch
from taskworker.log import LazyLogger, SupportsLogging
from taskworker.messages import ERROR_TYPE, MAX_MESSAGE_BYTES, TaskMessage, dead_letter_attributes
from taskworker.middleware.base import Middleware
from taskworker.outcomes import ErrorInfo, Failed, TaskResult

if TYPE_CHECKING:
    from taskworker.registry import TaskDefinition

UNAVAILABLE = "DeadLetterQueueUnavailable"


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
        if permanent:
            self.queue.send(permanent)


class DeadLetterQueue:
    """Sends failed messages to ``url`` through the batch helper; see the module docstring."""

    def __init__(
        self,
        url: str,
        sqs: Callable[[], Any],
        *,
        policy: RetryPolicy = DEFAULT_POLICY,
        logger: SupportsLogging | None = None,
    ) -> None:
        self.url = url
        self.fifo = url.endswith(".fifo")
        self._sqs = sqs
        self.policy = policy
        self.logger = logger or LazyLogger("taskworker")
        self._max_bytes: int | None = None

    @property
    def max_message_bytes(self) -> int:
        """The DLQ's ``MaximumMessageSize``, read once; SQS's old default if it cannot be read."""
        if self._max_bytes is None:
            try:
                response = self._sqs().get_queue_attributes(
                    QueueUrl=self.url, AttributeNames=["MaximumMessageSize"]
                )
                self._max_bytes = int(response["Attributes"]["MaximumMessageSize"])
            except Exception as exc:
                self._log(
                    30, "could not read the DLQ's MaximumMessageSize; copies fit 256 KiB", error=_name(exc)
                )
                return MAX_MESSAGE_BYTES
        return self._max_bytes

    def send(self, results: Sequence[TaskResult]) -> BatchResult[TaskResult]:
        """Mark each result ``dead_lettered`` once SQS acknowledged its copy; requeue the rest."""
        limit = self.max_message_bytes
        sent = call_batch(
            self._sqs(), SEND_MESSAGES, self.url, results, lambda r: self._entry(r, limit), policy=self.policy
        )
        for result, _ in sent.succeeded:
            result.dead_lettered = True
        for result, error in sent.failed:
            self._log(
                40, "could not send to the DLQ; the message stays on its queue", result, error=str(error)
            )
            result.requeue(ErrorInfo(UNAVAILABLE, f"could not send to the DLQ ({error.code}); retrying"))
        return sent

    def _entry(self, result: TaskResult, limit: int) -> dict[str, Any]:
        assert isinstance(result.outcome, Failed)
        message, error = result.message, result.outcome.error
        attributes = dead_letter_attributes(message, error.type, error.message, max_bytes=limit)
        if ERROR_TYPE not in attributes:
            self._no_room_for_reason(result, limit)
        body = message.body or " "  # SQS refuses empty bodies
        entry: dict[str, Any] = {"MessageBody": body, "MessageAttributes": attributes}
        if self.fifo:
            entry["MessageGroupId"] = _group(message)
            entry["MessageDeduplicationId"] = (message.task_id or "unknown")[:128]
        return entry

    def _no_room_for_reason(self, result: TaskResult, limit: int) -> None:
        """The body alone fills the DLQ's limit: the copy goes without reason, and says so."""
        assert isinstance(result.outcome, Failed)
        size = len(result.message.body.encode())
        note = (
            f" (the DLQ copy carries no reason: its {size:,}-byte body leaves no room under {limit:,} bytes)"
        )
        self._log(
            40, "DLQ copy without its reason: the body is too large", result, body_bytes=size, limit=limit
        )
        error = result.outcome.error
        result.outcome = replace(result.outcome, error=ErrorInfo(error.type, error.message + note))

    def _log(self, level: int, text: str, result: TaskResult | None = None, **extra: Any) -> None:
        if result is not None:
            extra.update(
                task_id=result.message.task_id, task_type=result.message.task_type, queue_url=self.url
            )
        self.logger.log(level, text, extra=extra)


def _group(message: TaskMessage) -> str:
    return message.group_id or message.task_type or "taskworker"


def _name(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"

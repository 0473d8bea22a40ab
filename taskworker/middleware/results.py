"""Result events: one SNS message per finished task, published once per batch.

A task is finished when it succeeded or failed for good (dead-lettered, permanent with no
DLQ, or on its last allowed receive). Events go out with PublishBatch, ten at a time and at
most 256 KiB per call; entries that fail are retried with jittered exponential backoff, and
a succeeded task whose event still could not be published is requeued. On redelivery
idempotency answers with the stored result and the event is published again, so an outage
of SNS delays success events but never loses one.

A failure event that cannot be published is logged, not requeued: the message is already
in the dead-letter queue with its reason (requeueing would put a second copy there), or it
is on its last receive and SQS redrives it whatever we do.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from taskworker.log import SupportsLogging
from taskworker.messages import (
    FAILED,
    MAX_EVENT_BYTES,
    NO_TASK_TYPE,
    SUCCEEDED,
    ResultEvent,
    iso_from_epoch,
    message_size,
)
from taskworker.middleware.base import Middleware
from taskworker.outcomes import ErrorInfo, Failed, Succeeded, TaskResult

BATCH_SIZE = 10
PUBLISH_ATTEMPTS = 4
NOT_PUBLISHED = "ResultEventNotPublished"


@dataclass(slots=True)
class _Entry:
    result: TaskResult
    event: ResultEvent
    request: dict[str, Any]
    size: int


class ResultEvents(Middleware):
    """Publishes the result event of every finished task in ``after_batch``."""

    def __init__(
        self,
        topic_arn: str,
        sns: Callable[[], Any],
        *,
        logger: SupportsLogging,
        attempts: int = PUBLISH_ATTEMPTS,
        backoff: float = 0.1,
        max_backoff: float = 2.0,
        requeue_delay: float | None = None,
    ) -> None:
        self.topic_arn = topic_arn
        self.fifo = topic_arn.endswith(".fifo")
        self._sns = sns
        self.logger = logger
        self.attempts = attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.requeue_delay = requeue_delay

    def after_batch(self, results: Sequence[TaskResult]) -> None:
        entries = [self._entry(str(i), r) for i, r in enumerate(results) if r.finished and r.message.task_id]
        if not entries:
            return
        unpublished = self._publish({entry.request["Id"]: entry for entry in entries})
        for entry, reason in unpublished:
            requeue = isinstance(entry.result.outcome, Succeeded)
            self.logger.log(
                40,
                "result event not published" + ("; the task goes back to the queue" if requeue else ""),
                extra={"task_id": entry.event.task_id, "task_type": entry.event.task_type, "error": reason},
            )
            if requeue:
                entry.result.requeue(ErrorInfo(NOT_PUBLISHED, reason), delay=self.requeue_delay)

    def _publish(self, pending: dict[str, _Entry]) -> list[tuple[_Entry, str]]:
        """Publish with bounded, jittered retries; returns what never went out, with why."""
        import tenacity  # deferred like everywhere else: most imports of the core never publish

        reasons: dict[str, str] = {}

        def round_() -> dict[str, _Entry]:
            nonlocal pending
            pending = self._publish_round(pending, reasons)
            return pending

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.attempts),
            wait=tenacity.wait_random_exponential(multiplier=self.backoff, max=self.max_backoff),
            retry=tenacity.retry_if_result(bool),
            retry_error_callback=lambda state: pending,
        )
        left = retrying(round_)
        return [(entry, reasons.get(entry_id, "unknown")) for entry_id, entry in left.items()]

    def _publish_round(self, pending: dict[str, _Entry], reasons: dict[str, str]) -> dict[str, _Entry]:
        failed: dict[str, _Entry] = {}
        for chunk in _chunks(list(pending.values())):
            failed.update(self._publish_chunk(chunk, reasons))
        return failed

    def _publish_chunk(self, chunk: list[_Entry], reasons: dict[str, str]) -> dict[str, _Entry]:
        by_id = {entry.request["Id"]: entry for entry in chunk}
        try:
            response = self._sns().publish_batch(
                TopicArn=self.topic_arn, PublishBatchRequestEntries=[e.request for e in chunk]
            )
        except Exception as exc:
            for entry_id in by_id:
                reasons[entry_id] = f"{type(exc).__name__}: {exc}"
            return by_id
        failed: dict[str, _Entry] = {}
        for failure in response.get("Failed", []):
            entry_id = failure.get("Id")
            if entry_id in by_id:
                reasons[entry_id] = f"{failure.get('Code')}: {failure.get('Message', '')}"
                failed[entry_id] = by_id[entry_id]
        acknowledged = {success.get("Id") for success in response.get("Successful", [])}
        for entry_id, entry in by_id.items():  # neither acknowledged nor refused: not sent
            if entry_id not in acknowledged and entry_id not in failed:
                reasons[entry_id] = "not acknowledged by SNS"
                failed[entry_id] = entry
        return failed

    def _entry(self, entry_id: str, result: TaskResult) -> _Entry:
        event = build_event(result)
        body = event.fitting_body()
        attributes = event.attributes()
        request: dict[str, Any] = {
            "Id": entry_id,
            "Message": body,
            "MessageAttributes": {
                name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
            },
        }
        if self.fifo:
            group = result.task.message_group if result.task and result.task.message_group else None
            request["MessageGroupId"] = group or event.task_type
            request["MessageDeduplicationId"] = _deduplication_id(event)
        return _Entry(result, event, request, message_size(body, attributes))


def build_event(result: TaskResult) -> ResultEvent:
    """The result event of a finished task."""
    message, outcome = result.message, result.outcome
    started = result.started_at or time.time() - result.duration_ms / 1000
    finished = started + result.duration_ms / 1000
    common: dict[str, Any] = {
        "task_id": message.task_id,
        "task_type": result.task.name if result.task else (message.task_type or NO_TASK_TYPE),
        "attempt": message.receive_count,
        "started_at": iso_from_epoch(started),
        "finished_at": iso_from_epoch(finished),
        "duration_ms": result.duration_ms,
        "correlation_id": message.correlation_id,
    }
    if isinstance(outcome, Succeeded):
        return ResultEvent(
            status=SUCCEEDED, result=outcome.result_json(), duplicate=outcome.duplicate, **common
        )
    assert isinstance(outcome, Failed)
    return ResultEvent(
        status=FAILED, error_type=outcome.error.type, error_message=outcome.error.message, **common
    )


def _deduplication_id(event: ResultEvent) -> str:
    """Stable per task and status: a republished event (after a requeue) is deduplicated."""
    return hashlib.sha256(f"{event.task_id}:{event.status}".encode()).hexdigest()


def _chunks(entries: list[_Entry]) -> list[list[_Entry]]:
    """Groups of at most ten entries and 256 KiB in total, PublishBatch's two limits."""
    chunks: list[list[_Entry]] = []
    current: list[_Entry] = []
    size = 0
    for entry in entries:
        if current and (len(current) == BATCH_SIZE or size + entry.size > MAX_EVENT_BYTES):
            chunks.append(current)
            current, size = [], 0
        current.append(entry)
        size += entry.size
    if current:
        chunks.append(current)
    return chunks

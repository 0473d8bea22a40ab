"""Result events: one SNS message per finished task, published once per batch.

A task is finished when it succeeded or failed for good (dead-lettered, permanent with no
DLQ, or on its last allowed receive). Events go out through the batch helper (PublishBatch,
ten and 256 KiB per request, jittered retries within a time budget). An event that still
could not be published is never dropped:

- a success is requeued: on redelivery idempotency answers with the stored result and
  the event is published then;
- a failure is kept in the consumer's backlog and published with the next batch it
  settles. Requeueing it would copy a dead-lettered message to the DLQ twice, and a
  message on its last receive is moved to the DLQ by SQS on its next receive anyway.

An event SNS refuses (a sender fault: no such topic, access denied, too large) is logged,
not kept: another try cannot succeed.

On a FIFO topic, events keep their group's order: the k-th event of each group is sent
only after the group's (k-1)-th was published (one PublishBatch per rank, for all groups at
once), and once an event of a group could not be published, the group's later events of
the batch are held back, not published, and treated as unpublished (a success requeued, a
failure kept), so nothing overtakes the event that failed.

A republished event has the same ``task_id`` and ``status``: subscribers de-duplicate on
that pair (FIFO topics do it by deduplication id).
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from taskworker.aws.batch import DEFAULT_POLICY, PUBLISH, EntryError, RetryPolicy, call_batch
from taskworker.log import SupportsLogging
from taskworker.messages import CANCELLED, FAILED, NO_TASK_TYPE, SUCCEEDED, ResultEvent, iso_from_epoch
from taskworker.middleware.backlog import Backlog
from taskworker.middleware.base import Middleware
from taskworker.outcomes import Cancelled, ErrorInfo, Failed, Succeeded, TaskResult

NOT_PUBLISHED = "ResultEventNotPublished"
HELD_BEHIND = EntryError("GroupHeld", "not published: an earlier event of its FIFO group was not")


@dataclass(frozen=True, slots=True)
class _Event:
    """One event to publish; ``result`` is ``None`` for an event kept from an earlier batch."""

    event: ResultEvent
    request: dict[str, Any]
    result: TaskResult | None = None


class ResultEvents(Middleware):
    """Publishes the result event of every finished task in ``after_batch``."""

    def __init__(
        self,
        topic_arn: str,
        sns: Callable[[], Any],
        *,
        logger: SupportsLogging,
        policy: RetryPolicy = DEFAULT_POLICY,
        requeue_delay: float | None = None,
    ) -> None:
        self.topic_arn = topic_arn
        self.fifo = topic_arn.endswith(".fifo")
        self._sns = sns
        self.logger = logger
        self.policy = policy
        self.requeue_delay = requeue_delay
        self.backlog: Backlog[_Event] = Backlog()

    def after_batch(self, results: Sequence[TaskResult]) -> None:
        fresh = [self.event(r) for r in results if r.finished and r.message.task_id]
        pending = self.backlog.take() + fresh
        if not pending:
            return
        failed = self._publish_in_group_order(pending) if self.fifo else self._publish(pending)
        kept: list[_Event] = []
        for item, error in failed:
            if error.sender_fault:  # no such topic, access denied: another try cannot help
                self._log(40, "result event refused by SNS", item, error)
            elif item.result is not None and isinstance(item.result.outcome, Succeeded):
                self._log(40, "result event not published; the task goes back to the queue", item, error)
                item.result.requeue(ErrorInfo(NOT_PUBLISHED, str(error)), delay=self.requeue_delay)
            else:
                self._log(40, "result event not published; kept for the next batch", item, error)
                kept.append(_Event(item.event, item.request))
        for item in self.backlog.keep(kept):
            self._log(40, "result event given up: the backlog is full", item, None)

    def _publish(self, events: list[_Event]) -> list[tuple[_Event, EntryError]]:
        """PublishBatch through the batch helper; returns the events not published, with why."""
        return call_batch(
            self._sns(), PUBLISH, self.topic_arn, events, lambda e: e.request, policy=self.policy
        ).failed

    def _publish_in_group_order(self, events: list[_Event]) -> list[tuple[_Event, EntryError]]:
        """FIFO: publish by rank within each group; a group whose event failed stops there."""
        ranks: list[list[_Event]] = []
        seen: Counter[str] = Counter()
        for item in events:
            rank = seen[_group(item)]
            seen[_group(item)] += 1
            if rank == len(ranks):
                ranks.append([])
            ranks[rank].append(item)
        failed: list[tuple[_Event, EntryError]] = []
        stopped: set[str] = set()
        for rank_events in ranks:
            failed += [(item, HELD_BEHIND) for item in rank_events if _group(item) in stopped]
            sendable = [item for item in rank_events if _group(item) not in stopped]
            answer = self._publish(sendable) if sendable else []
            stopped.update(_group(item) for item, error in answer if not error.sender_fault)
            failed += answer
        return failed

    def event(self, result: TaskResult) -> _Event:
        """The finished task's event and its PublishBatch entry (without ``Id``)."""
        event = build_event(result)
        request: dict[str, Any] = {
            "Message": event.fitting_body(),
            "MessageAttributes": {
                name: {"DataType": "String", "StringValue": value}
                for name, value in event.attributes().items()
            },
        }
        if self.fifo:
            request["MessageGroupId"] = result.task.group if result.task else event.task_type
            request["MessageDeduplicationId"] = _deduplication_id(event)
        return _Event(event, request, result)

    def _log(self, level: int, text: str, item: _Event, error: EntryError | None) -> None:
        extra = {
            "task_id": item.event.task_id,
            "task_type": item.event.task_type,
            "status": item.event.status,
        }
        self.logger.log(level, text, extra={**extra, "error": None if error is None else str(error)})


def _group(item: _Event) -> str:
    return str(item.request["MessageGroupId"])


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
    assert isinstance(outcome, Failed | Cancelled)
    return ResultEvent(
        status=FAILED if isinstance(outcome, Failed) else CANCELLED,
        error_type=outcome.error.type,
        error_message=outcome.error.message,
        **common,
    )


def _deduplication_id(event: ResultEvent) -> str:
    """Stable per task and status: a republished event (after a requeue) is deduplicated."""
    return hashlib.sha256(f"{event.task_id}:{event.status}".encode()).hexdigest()

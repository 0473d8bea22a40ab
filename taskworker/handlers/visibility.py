"""Returning messages to their queue: visibility changes and the redrive limit.

Both runtimes give a failed message back with a delay (exponential backoff, or at once
for a task that was never started) through ChangeMessageVisibilityBatch, and both need
the queue's ``maxReceiveCount`` to know which attempt is the last. A failed change costs
latency, never a message (it comes back when its current visibility timeout ends), but
it is always reported, refused receipt handles included: the heartbeat must not record
an extension SQS refused.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from taskworker.aws.batch import CHANGE_VISIBILITY, DEFAULT_POLICY, RetryPolicy, call_batch
from taskworker.messages import TaskMessage
from taskworker.retry import MAX_VISIBILITY_SECONDS

if TYPE_CHECKING:
    from taskworker.app import TaskApp


def change_visibility(
    sqs: Any, queue_url: str, changes: Sequence[tuple[str, float]], *, policy: RetryPolicy = DEFAULT_POLICY
) -> list[str]:
    """Set each ``(receipt_handle, seconds)``; returns the receipt handles that failed.

    Refused handles (a stale receipt handle is a sender fault) count as failed like any
    other: the caller must not believe in an extension that never happened.
    """
    answer = call_batch(
        sqs,
        CHANGE_VISIBILITY,
        queue_url,
        changes,
        lambda change: {"ReceiptHandle": change[0], "VisibilityTimeout": _seconds(change[1])},
        policy=policy,
    )
    return [handle for handle, _ in answer.failed_items()]


def _seconds(delay: float) -> int:
    return max(0, min(MAX_VISIBILITY_SECONDS, round(delay)))


def redrive_policy(sqs: Any, queue_url: str) -> dict[str, Any] | None:
    """The queue's RedrivePolicy (its DLQ's ARN and ``maxReceiveCount``), ``None`` without one."""
    response = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])
    policy = response.get("Attributes", {}).get("RedrivePolicy")
    return dict(json.loads(policy)) if policy else None


def max_receive_count(sqs: Any, queue_url: str) -> int | None:
    """``maxReceiveCount`` from the queue's RedrivePolicy, ``None`` without one."""
    policy = redrive_policy(sqs, queue_url)
    return int(policy["maxReceiveCount"]) if policy else None


class QueueVisibility:
    """For Lambda, which knows its queues only by ARN: resolves each queue's URL and
    redrive limit once (the runtime applies the settlements itself)."""

    def __init__(self, app: TaskApp) -> None:
        self.app = app
        self._urls: dict[str, str] = {}
        self._limits: dict[str, int | None] = {}

    def max_receive_count(self, message: TaskMessage) -> int | None:
        """The redrive limit of the message's queue; a configured setting wins."""
        configured = self.app.settings.max_receive_count
        arn = message.queue_arn
        if configured is not None or not arn:
            return configured
        if arn not in self._limits:
            url = self.queue_url(arn)
            if url is None:
                return None
            try:
                self._limits[arn] = max_receive_count(self.app.clients.sqs, url)
            except Exception as exc:
                self._warn("could not read the queue's RedrivePolicy", arn, exc)
                return None
        return self._limits[arn]

    def queue_url(self, arn: str) -> str | None:
        """GetQueueUrl by name and owner, so custom endpoints (moto, LocalStack) work too."""
        if arn not in self._urls:
            *_, account, name = arn.split(":")
            try:
                response = self.app.clients.sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)
            except Exception as exc:
                self._warn("could not resolve the queue URL", arn, exc)
                return None
            self._urls[arn] = response["QueueUrl"]
        return self._urls[arn]

    def _warn(self, message: str, arn: str, exc: Exception | None = None) -> None:
        error = f"{type(exc).__name__}: {exc}" if exc else None
        self.app.logger.log(30, message, extra={"queue_arn": arn, "error": error})

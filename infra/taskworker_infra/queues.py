"""A task queue and its dead-letter queue (one pair per queue of the app)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

__all__ = ["MAX_RECEIVE_COUNT", "TaskQueues"]

# AWS guidance for Lambda event sources: at least 5, so throttled receives do not dead-letter.
MAX_RECEIVE_COUNT = 5


class TaskQueues(Construct):
    """An encrypted, TLS-only queue that redrives to an encrypted, TLS-only DLQ.

    SQS-managed SSE is used rather than a KMS key so API Gateway's role needs nothing but
    ``sqs:SendMessage``. The DLQ keeps messages 14 days (SQS's maximum), longer than the
    queue, because a message keeps its original enqueue time when it is dead-lettered.

    ``fifo`` makes both FIFO (a FIFO queue must redrive to a FIFO DLQ), with content-based
    deduplication off: producers send a deduplication id (the idempotency key, the API's
    request id, a dead-lettered copy's task id), so two equal payloads stay two tasks.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        visibility_timeout: Duration,
        retention_period: Duration | None = None,
        fifo: bool = False,
        max_receive_count: int = MAX_RECEIVE_COUNT,
    ) -> None:
        super().__init__(scope, construct_id)
        # FIFO options only when asked for: a standard pair keeps exactly its old properties
        ordering = {"fifo": True, "content_based_deduplication": False} if fifo else {}
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            **ordering,
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=visibility_timeout,
            retention_period=retention_period or Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=max_receive_count
            ),
            **ordering,
        )

"""The task queue and its dead-letter queue."""

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
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        visibility_timeout: Duration,
        retention_period: Duration | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=visibility_timeout,
            retention_period=retention_period or Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=MAX_RECEIVE_COUNT
            ),
        )

"""Least-privilege grants for a consumer (the Lambda function or the worker's task role).

Written out action by action instead of CDK's ``grant_read_write_data`` & co., which add
actions the consumer never calls (Scan, Query, BatchWriteItem, DescribeTable ...).
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

__all__ = [
    "IDEMPOTENCY_TABLE_ACTIONS",
    "STATUS_TABLE_ACTIONS",
    "WORKER_QUEUE_ACTIONS",
    "grant_consumer",
    "grant_send_to_queues",
]

# What the status middleware does: a conditional PutItem when a task starts or is retried,
# and BatchWriteItem for the final statuses of a batch (tests/infra/test_grants.py checks
# this list against the calls the core really makes).
STATUS_TABLE_ACTIONS = ("dynamodb:BatchWriteItem", "dynamodb:PutItem")
# What powertools' DynamoDBPersistenceLayer calls.
IDEMPOTENCY_TABLE_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
)
# What the container worker's polling loop calls on the task queue (the Lambda event source
# mapping gets its own set from CDK's SqsEventSource).
WORKER_QUEUE_ACTIONS = (
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
)


def grant_consumer(
    grantee: iam.IGrantable,
    *,
    queue: sqs.IQueue,
    dead_letter_queue: sqs.IQueue,
    app_queues: Iterable[sqs.IQueue],
    topic: sns.ITopic,
    status_table: dynamodb.ITable,
    idempotency_table: dynamodb.ITable,
) -> None:
    """Everything a consumer does besides receiving from ``queue``: delay retries on it,
    dead-letter permanent failures to its own DLQ, send to every queue of the app
    (``app_queues``), publish results, write statuses and idempotency records."""
    queue.grant(grantee, "sqs:ChangeMessageVisibility")
    dead_letter_queue.grant(grantee, "sqs:SendMessage")
    grant_send_to_queues(grantee, app_queues)
    topic.grant_publish(grantee)
    status_table.grant(grantee, *STATUS_TABLE_ACTIONS)
    idempotency_table.grant(grantee, *IDEMPOTENCY_TABLE_ACTIONS)


def grant_send_to_queues(grantee: iam.IGrantable, queues: Iterable[sqs.IQueue]) -> None:
    """``sqs:SendMessage`` on each of ``queues`` and nothing else on them.

    A consumer sends follow-up tasks to whichever queue carries their type, and forwards a
    message that reached the wrong queue to the right one; receiving stays limited to the
    consumer's own queue, so no consumer ever runs another queue's tasks.
    """
    for queue in queues:
        queue.grant(grantee, "sqs:SendMessage")

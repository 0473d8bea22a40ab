"""Least-privilege grants for a consumer (the Lambda function or the worker's task role).

Written out action by action instead of CDK's ``grant_read_write_data`` & co., which add
actions the consumer never calls (Scan, Query, BatchWriteItem, DescribeTable ...).
"""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

__all__ = [
    "IDEMPOTENCY_TABLE_ACTIONS",
    "STATUS_TABLE_ACTIONS",
    "WORKER_QUEUE_ACTIONS",
    "grant_consumer",
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
    topic: sns.ITopic,
    status_table: dynamodb.ITable,
    idempotency_table: dynamodb.ITable,
) -> None:
    """Everything a consumer does besides receiving: delay retries, dead-letter permanent
    failures, publish results, write statuses and idempotency records."""
    queue.grant(grantee, "sqs:ChangeMessageVisibility")
    dead_letter_queue.grant(grantee, "sqs:SendMessage")
    topic.grant_publish(grantee)
    status_table.grant(grantee, *STATUS_TABLE_ACTIONS)
    idempotency_table.grant(grantee, *IDEMPOTENCY_TABLE_ACTIONS)

"""Creating what the app's settings name, on whatever endpoint boto3 points at.

The dev stack provisions the same shapes the infra deploys (a queue with a RedrivePolicy
to its DLQ, the result topic, the status and idempotency tables with their keys and TTL),
so code that works locally meets no surprise on AWS. Existing resources are reused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from taskworker.settings import Settings

MAX_RECEIVE_COUNT = 5


@dataclass(frozen=True)
class DevResources:
    """Names of the local resources; ``settings()`` turns them into app settings."""

    prefix: str = "taskworker-dev"
    visibility_timeout: int = 30

    @property
    def queue(self) -> str:
        return f"{self.prefix}-tasks"

    @property
    def dlq(self) -> str:
        return f"{self.prefix}-tasks-dlq"

    @property
    def results_queue(self) -> str:
        return f"{self.prefix}-results-log"

    @property
    def topic(self) -> str:
        return f"{self.prefix}-results"

    @property
    def status_table(self) -> str:
        return f"{self.prefix}-status"

    @property
    def idempotency_table(self) -> str:
        return f"{self.prefix}-idempotency"


@dataclass(frozen=True)
class Provisioned:
    settings: Settings
    results_queue_url: str


def provision(resources: DevResources, sqs: Any, sns: Any, dynamodb: Any) -> Provisioned:
    """Create (or find) every resource and return the settings that name them."""
    dlq_url = sqs.create_queue(QueueName=resources.dlq)["QueueUrl"]
    queue_url = sqs.create_queue(
        QueueName=resources.queue,
        Attributes={
            "VisibilityTimeout": str(resources.visibility_timeout),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": _arn(sqs, dlq_url), "maxReceiveCount": MAX_RECEIVE_COUNT}
            ),
        },
    )["QueueUrl"]
    topic_arn = sns.create_topic(Name=resources.topic)["TopicArn"]
    results_url = sqs.create_queue(QueueName=resources.results_queue)["QueueUrl"]
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=_arn(sqs, results_url),
        Attributes={"RawMessageDelivery": "true"},
    )
    _table(dynamodb, resources.status_table, key="task_id", ttl="expires_at")
    _table(dynamodb, resources.idempotency_table, key="id", ttl="expiration")
    settings = Settings(
        queue_url=queue_url,
        dlq_url=dlq_url,
        result_topic_arn=topic_arn,
        status_table=resources.status_table,
        idempotency_table=resources.idempotency_table,
        max_receive_count=MAX_RECEIVE_COUNT,
    )
    return Provisioned(settings=settings, results_queue_url=results_url)


def _arn(sqs: Any, queue_url: str) -> str:
    response = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    return str(response["Attributes"]["QueueArn"])


def _table(dynamodb: Any, name: str, *, key: str, ttl: str) -> None:
    try:
        dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except dynamodb.exceptions.ResourceInUseException:
        return
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1})
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl}
    )

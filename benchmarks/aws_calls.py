"""What ``sns_calls`` and ``dynamodb_calls`` share: resources on a local moto server and
a Lambda delivery driven by real received messages.

Messages are sent to a real queue, received with ReceiveMessage, turned into the records
Lambda's event source would deliver (``taskworker.testing.record_from_sqs_message``) and
handed to the handler ten at a time, then deleted, as the event source mapping does.
The queue never holds more than one batch (moto's SQS cost grows with depth).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from benchmarks import local_aws
from taskworker import Settings, TaskApp
from taskworker.aws import Clients
from taskworker.testing import lambda_context, record_from_sqs_message

TASK_TYPE = "bench.echo"
BATCH = 10

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class Echo(BaseModel):
    n: int


@dataclass(frozen=True)
class Resources:
    """A queue, a topic with a raw-delivery queue subscribed, the status and idempotency tables."""

    endpoint: str
    sqs: Any
    dynamodb: Any
    queue_url: str
    queue_arn: str
    topic_arn: str
    events_url: str
    status_table: str
    idempotency_table: str


def provision(endpoint: str) -> Resources:
    sqs = local_aws.client(endpoint, "sqs")
    sns = local_aws.client(endpoint, "sns")
    dynamodb = local_aws.client(endpoint, "dynamodb")
    queue_url = sqs.create_queue(QueueName=local_aws.unique("calls-tasks"))["QueueUrl"]
    topic_arn = sns.create_topic(Name=local_aws.unique("calls-results"))["TopicArn"]
    events_url = sqs.create_queue(QueueName=local_aws.unique("calls-events"))["QueueUrl"]
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=local_aws.queue_arn(sqs, events_url),
        Attributes={"RawMessageDelivery": "true"},
    )
    tables = {"status": "task_id", "idempotency": "id"}
    names = {}
    for kind, key in tables.items():
        names[kind] = local_aws.unique(f"calls-{kind}")
        dynamodb.create_table(
            TableName=names[kind],
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    return Resources(
        endpoint=endpoint,
        sqs=sqs,
        dynamodb=dynamodb,
        queue_url=queue_url,
        queue_arn=local_aws.queue_arn(sqs, queue_url),
        topic_arn=topic_arn,
        events_url=events_url,
        status_table=names["status"],
        idempotency_table=names["idempotency"],
    )


def app(resources: Resources, clients: Clients, **features: Any) -> TaskApp:
    """The bench app with only the features named (``result_topic_arn=...``, ...) on."""
    settings = Settings(queue_url=resources.queue_url, max_receive_count=5, **features)
    built = TaskApp("bench-calls", settings=settings, clients=clients)

    @built.task(TASK_TYPE)
    def echo(item: Echo) -> Echo:
        return item

    return built


def deliver(
    resources: Resources, handler: Handler, tasks: int, *, batch: int = BATCH, keys: Iterable[str] = ()
) -> None:
    """Send ``tasks`` messages, ``batch`` at a time, and hand each batch to ``handler``.

    ``keys`` (optional) are ``idempotency_key`` attributes, one per task in order. A
    handler that reports a failure is refused: a contestant that drops work cannot win.
    """
    keys = iter(list(keys))
    for first in range(0, tasks, batch):
        size = min(batch, tasks - first)
        entries = []
        for i in range(size):
            attributes = {"task_type": TASK_TYPE}
            key = next(keys, None)
            if key is not None:
                attributes["idempotency_key"] = key
            entries.append(
                {
                    "Id": str(i),
                    "MessageBody": json.dumps({"n": first + i}),
                    "MessageAttributes": {
                        k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()
                    },
                }
            )
        resources.sqs.send_message_batch(QueueUrl=resources.queue_url, Entries=entries)
        messages = receive(resources.sqs, resources.queue_url, size)
        event = {"Records": [record_from_sqs_message(m, resources.queue_arn) for m in messages]}
        answer = handler(event, lambda_context(timeout_ms=900_000))
        if answer != {"batchItemFailures": []}:
            raise RuntimeError(f"the handler reported failures on a valid batch: {answer}")
        resources.sqs.delete_message_batch(
            QueueUrl=resources.queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )


def receive(sqs: Any, queue_url: str, count: int) -> list[dict[str, Any]]:
    """Exactly ``count`` messages (a full batch), as Lambda's poller gathers them."""
    messages: list[dict[str, Any]] = []
    while len(messages) < count:
        response = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=count - len(messages),
            WaitTimeSeconds=1,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages += response.get("Messages", [])
    return messages


def drain(sqs: Any, queue_url: str) -> int:
    """Delete everything visible on ``queue_url``; returns how many messages there were."""
    total = 0
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        if not messages:
            return total
        total += len(messages)
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )

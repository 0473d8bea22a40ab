"""What ``sns_calls`` and ``dynamodb_calls`` share: resources on a local moto server and
a Lambda delivery driven by real received messages.

Resources come from ``taskworker.dev.resources.provision`` and delivery goes through
``taskworker.dev.event_source.LambdaEventSource.invoke`` (the one provisioning function
and the one event-source emulation): messages are sent to a real queue, received with
ReceiveMessage, handed to the handler ten at a time as Lambda records, then deleted.
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
from taskworker.dev.event_source import LambdaEventSource
from taskworker.dev.resources import DevResources
from taskworker.dev.resources import provision as dev_provision

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
    """Fresh resources under a unique prefix, provisioned as ``taskworker dev`` does."""
    sqs = local_aws.client(endpoint, "sqs")
    dynamodb = local_aws.client(endpoint, "dynamodb")
    names = DevResources(prefix=local_aws.unique("calls"))
    provisioned = dev_provision(names, sqs, local_aws.client(endpoint, "sns"), dynamodb)
    settings = provisioned.settings
    assert settings.queue_url
    assert settings.result_topic_arn
    return Resources(
        endpoint=endpoint,
        sqs=sqs,
        dynamodb=dynamodb,
        queue_url=settings.queue_url,
        queue_arn=provisioned.queue_arn,
        topic_arn=settings.result_topic_arn,
        events_url=provisioned.results_queue_url,
        status_table=names.status_table,
        idempotency_table=names.idempotency_table,
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
    source = LambdaEventSource(resources.sqs, resources.queue_url, handler, queue_arn=resources.queue_arn)
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
        answer = source.invoke(receive(resources.sqs, resources.queue_url, size))
        if answer != {"batchItemFailures": []} or source.undeleted:
            raise RuntimeError(f"the handler reported failures on a valid batch: {answer}")


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

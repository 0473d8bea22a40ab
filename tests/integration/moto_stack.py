"""A fresh set of AWS resources on a moto server, and the moves Lambda's event source makes
(both the library's own: ``taskworker.dev``'s provisioning and event-source emulation).

Kept out of ``conftest.py`` under a unique module name so tests can import it without
clashing with other ``conftest`` modules.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3

from taskworker import Settings, TaskApp
from taskworker.aws import Clients
from taskworker.dev.event_source import LambdaEventSource
from taskworker.dev.resources import DevResources, provision

REGION = "us-east-1"


@dataclass
class Stack:
    """A queue with redrive to a DLQ, a topic feeding a raw-delivery queue, and two tables."""

    endpoint: str
    sqs: Any
    sns: Any
    dynamodb: Any
    queue_url: str
    queue_arn: str
    dlq_url: str
    topic_arn: str
    events_url: str
    status_table: str
    idempotency_table: str
    max_receives: int
    apps: list[TaskApp] = field(default_factory=list)

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION)

    def settings(self, **overrides: Any) -> Settings:
        base = {
            "queue_url": self.queue_url,
            "dlq_url": self.dlq_url,
            "result_topic_arn": self.topic_arn,
            "status_table": self.status_table,
            "idempotency_table": self.idempotency_table,
            "backoff_base_seconds": 1.0,
            "backoff_max_seconds": 2.0,
        }
        base.update(overrides)
        return Settings(**base)

    def app(self, name: str = "it", *, sns: Any = None, **overrides: Any) -> TaskApp:
        """A TaskApp wired to this stack (pass ``sns=`` to wrap the SNS client)."""
        clients = Clients(sqs=self.sqs, sns=sns or self.sns, dynamodb=self.dynamodb)
        return TaskApp(name, settings=self.settings(**overrides), clients=clients)

    def send(
        self, task_type: str | None, payload: Any = None, *, body: str | None = None, **attributes: str
    ) -> str:
        attrs = dict(attributes)
        if task_type is not None:
            attrs["task_type"] = task_type
        response = self.sqs.send_message(
            QueueUrl=self.queue_url,
            MessageBody=body if body is not None else json.dumps(payload if payload is not None else {}),
            MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attrs.items()},
        )
        return str(response["MessageId"])

    def receive(self, url: str | None = None, *, count: int = 10, wait: int = 0) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=url or self.queue_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=wait,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def invoke(self, app: TaskApp, messages: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """What Lambda's event source mapping does: invoke, then delete what did not fail."""
        source = LambdaEventSource(self.sqs, self.queue_url, app.lambda_handler, queue_arn=self.queue_arn)
        response: dict[str, Any] = source.invoke(messages)
        assert source.undeleted == 0, "the event source could not delete a processed message"
        return response

    def deliver(self, app: TaskApp, *, expect: int | None = None) -> dict[str, Any]:
        """Receive what is visible on the task queue and invoke the Lambda handler with it."""
        messages = self.receive()
        if expect is not None:
            assert len(messages) == expect, messages
        return self.invoke(app, messages)

    def events(self) -> list[dict[str, Any]]:
        """Every result event delivered so far (deleted once read)."""
        found: list[dict[str, Any]] = []
        while True:
            messages = self.receive(self.events_url)
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
            self.sqs.delete_message_batch(
                QueueUrl=self.events_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )

    def dead_letters(self) -> list[dict[str, Any]]:
        """Everything in the DLQ right now (left in place, made visible again)."""
        messages = self.receive(self.dlq_url)
        if messages:
            self.sqs.change_message_visibility_batch(
                QueueUrl=self.dlq_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for i, m in enumerate(messages)
                ],
            )
        return messages

    def visible_count(self, url: str | None = None) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url or self.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])


def make_stack(endpoint: str, *, max_receives: int = 3, fifo_topic: bool = False) -> Stack:
    """Fresh resources provisioned as ``taskworker dev`` provisions them, under a unique prefix."""
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=REGION)
    sns = boto3.client("sns", endpoint_url=endpoint, region_name=REGION)
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION)
    resources = DevResources(
        prefix=f"it-{uuid.uuid4().hex[:10]}", max_receive_count=max_receives, fifo_results=fifo_topic
    )
    provisioned = provision(resources, sqs, sns, dynamodb)
    settings = provisioned.settings
    assert settings.queue_url
    assert settings.dlq_url
    assert settings.result_topic_arn
    return Stack(
        endpoint=endpoint,
        sqs=sqs,
        sns=sns,
        dynamodb=dynamodb,
        queue_url=settings.queue_url,
        queue_arn=provisioned.queue_arn,
        dlq_url=settings.dlq_url,
        topic_arn=settings.result_topic_arn,
        events_url=provisioned.results_queue_url,
        status_table=resources.status_table,
        idempotency_table=resources.idempotency_table,
        max_receives=max_receives,
    )

"""Offline tour: the example app consumes real-shaped SQS events, with no AWS at all.

It builds a batch like the one Lambda's event source delivers, valid and broken messages
mixed, runs the Lambda entry point on it through the testing kit (``TaskTester``) against an
in-memory queue pair (queue + DLQ), and prints what became of each message. The app itself
is left untouched: the tester drives a twin of it wired to the fake. Run: ``python -m examples.offline_demo``.
"""

from __future__ import annotations

import json
import sys
import time

from examples.reports import app
from taskworker import Settings
from taskworker.dev.resources import DevResources, provision_queues
from taskworker.testing import FakeSQS, TaskTester, offline_clients, receive_lambda_event

MESSAGES: list[tuple[str, str | None, str]] = [
    ("a monthly report", "report.generate", '{"account_id": "acme", "month": "2026-10", "detail": 5}'),
    ("another report", "report.generate", '{"account_id": "globex", "month": "2026-09"}'),
    ("an async notification", "report.notify", '{"email": "ops@example.com", "subject": "ready"}'),
    ("a payload failing validation", "report.generate", '{"account_id": "acme", "month": "13"}'),
    ("a body that is not JSON", "report.generate", "{not json"),
    ("an unknown task type", "report.unknown", "{}"),  # retried: a newer consumer may know it
    ("no task_type attribute", None, '{"account_id": "acme"}'),
    ("a handler failing for good", "report.fail", '{"account_id": "initech"}'),
]


def main() -> int:
    sqs = FakeSQS()
    queues = provision_queues(DevResources(prefix="reports"), sqs)
    queue, dlq = queues.queue_url, queues.dlq_url
    tester = TaskTester(app, settings=Settings(dlq_url=dlq), clients=offline_clients(sqs))

    labels = {}
    for label, task_type, body in MESSAGES:
        attributes = {"task_type": {"DataType": "String", "StringValue": task_type}} if task_type else {}
        sent = sqs.send_message(QueueUrl=queue, MessageBody=body, MessageAttributes=attributes)
        labels[sent["MessageId"]] = label
    event = receive_lambda_event(sqs, queue)

    started = time.perf_counter()
    response = tester.lambda_handler(event)
    elapsed = time.perf_counter() - started

    failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
    dead = _dead_letters(sqs, dlq)
    print(f"\nProcessed {len(event['Records'])} messages in {elapsed * 1000:.0f} ms\n")
    for record in event["Records"]:
        label = labels[record["messageId"]]
        if record["messageId"] in failed:
            verdict = "returned to the queue for a retry"
        elif label in dead:
            verdict = f"sent to the DLQ -> {dead[label]}"
        else:
            verdict = "succeeded"
        print(f"  {label:<30} {verdict}")
    print(f"\nLambda response: {json.dumps(response)}")
    return 0


def _dead_letters(sqs: FakeSQS, dlq: str) -> dict[str, str]:
    """The reason of each DLQ entry, by the label of the message it came from."""
    reasons = {}
    messages = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    originals = {(body, task_type or "(none)"): label for label, task_type, body in MESSAGES}
    for message in messages.get("Messages", []):
        attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
        label = originals[(message["Body"], attributes["task_type"])]
        reasons[label] = f"{attributes['error_type']}: {attributes['error_message']}"
    return reasons


if __name__ == "__main__":
    sys.exit(main())

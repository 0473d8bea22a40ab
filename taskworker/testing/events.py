"""Factories for events exactly as Lambda's SQS event source delivers them.

Field names, casing, string-typed numbers and MD5 digests follow what Lambda sends, so a
handler that passes these tests sees nothing new in production.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

from taskworker.dev.event_source import DEFAULT_ACCOUNT, DEFAULT_REGION
from taskworker.dev.event_source import lambda_record as record_from_sqs_message
from taskworker.dev.resources import queue_arn
from taskworker.messages import send_attributes
from taskworker.testing.fake_sqs import md5_of_message_attributes as md5_of_typed_attributes

__all__ = [
    "md5_of_message_attributes",
    "receive_lambda_event",
    "record_from_sqs_message",
    "sqs_event",
    "sqs_record",
]
DEFAULT_QUEUE = "taskworker-tasks"
_sequence = itertools.count(10_000_000_000_000_000_000)


def sqs_record(
    payload: Any = None,
    *,
    task_type: str | None = None,
    body: str | None = None,
    message_id: str | None = None,
    receive_count: int = 1,
    idempotency_key: str | None = None,
    correlation_id: str | None = None,
    caller: str | None = None,
    message_attributes: Mapping[str, str] | None = None,
    group_id: str | None = None,
    queue: str = DEFAULT_QUEUE,
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
) -> dict[str, Any]:
    """One SQS record as Lambda delivers it.

    ``payload`` (a dict, a pydantic model, or anything JSON-serializable) becomes the body
    unless ``body`` gives the raw text. ``task_type`` sets the routing attribute (with the
    optional ``idempotency_key``, ``correlation_id`` and the API's ``caller``); pass
    ``message_attributes`` to control attributes entirely. A ``.fifo`` queue name (or a
    ``group_id``) produces a FIFO record with group, deduplication id and sequence number.
    """
    text = body if body is not None else _json(payload)
    if message_attributes is None:
        message_attributes = (
            send_attributes(
                task_type, idempotency_key=idempotency_key, correlation_id=correlation_id, caller=caller
            )
            if task_type is not None
            else {}
        )
    fifo = queue.endswith(".fifo") or group_id is not None
    if fifo and not queue.endswith(".fifo"):
        queue += ".fifo"
    message_id = message_id or str(uuid.uuid4())
    now_ms = int(time.time() * 1000)
    attributes = {
        "ApproximateReceiveCount": str(receive_count),
        "SentTimestamp": str(now_ms - 5),
        "SenderId": "AIDAIENQZJOLO23YVJ4VO",
        "ApproximateFirstReceiveTimestamp": str(now_ms),
    }
    if fifo:
        attributes["MessageGroupId"] = group_id or "default"
        attributes["MessageDeduplicationId"] = message_id
        attributes["SequenceNumber"] = str(next(_sequence))
    record: dict[str, Any] = {
        "messageId": message_id,
        "receiptHandle": f"AQEB{uuid.uuid4().hex}{uuid.uuid4().hex}",
        "body": text,
        "attributes": attributes,
        "messageAttributes": {name: _lambda_attribute(value) for name, value in message_attributes.items()},
        "md5OfBody": hashlib.md5(text.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{region}:{account}:{queue}",
        "awsRegion": region,
    }
    if message_attributes:
        record["md5OfMessageAttributes"] = md5_of_message_attributes(message_attributes)
    return record


def sqs_event(records: Iterable[Mapping[str, Any]] | None = None, **record_fields: Any) -> dict[str, Any]:
    """An SQS event: the given records, or one record built from ``record_fields``."""
    items = list(records) if records is not None else [sqs_record(**record_fields)]
    return {"Records": [dict(item) for item in items]}


def receive_lambda_event(
    sqs: Any, queue_url: str, *, max_messages: int = 10, wait_seconds: int = 0
) -> dict[str, Any]:
    """Receive up to ``max_messages`` from a real queue (or a fake) as Lambda's SQS event.

    What Lambda's event source mapping does before it invokes a function; pair it with
    deleting the records the response does not report, as the mapping does afterwards.
    """
    response = sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=max_messages,
        WaitTimeSeconds=wait_seconds,
        MessageSystemAttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    arn = queue_arn(sqs, queue_url)
    return sqs_event([record_from_sqs_message(m, arn) for m in response.get("Messages", [])])


def md5_of_message_attributes(attributes: Mapping[str, str]) -> str:
    """SQS's digest of String message attributes, as Lambda reports it."""
    return md5_of_typed_attributes(
        {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()}
    )


def _lambda_attribute(value: str) -> dict[str, Any]:
    return {"stringValue": value, "stringListValues": [], "binaryListValues": [], "dataType": "String"}


def _json(payload: Any) -> str:
    if isinstance(payload, BaseModel):
        return payload.model_dump_json()
    return json.dumps({} if payload is None else payload, separators=(",", ":"))

"""The wire format: the only module that knows SQS field and attribute names.

A message body is the task's payload as JSON, exactly what a client POSTs; the String
message attribute ``task_type`` routes it. Lambda and the SQS API describe the same message
in two spellings (``messageAttributes.task_type.stringValue`` versus
``MessageAttributes.task_type.StringValue``); both become one :class:`TaskMessage` here,
so nothing downstream cares where a message came from.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

TASK_TYPE = "task_type"
TASK_ID = "task_id"
"""On a DLQ copy (and on what is moved back from the DLQ): the original task id, which a
consumer takes as the message's :attr:`TaskMessage.task_id` when it is valid."""
MAX_TASK_ID_CHARS = 128
"""The longest ``task_id`` attribute taken as a task id (an SQS MessageId has 36)."""
_TASK_ID = re.compile(rf"[!-~]{{1,{MAX_TASK_ID_CHARS}}}")
_logger = logging.getLogger(__name__)
IDEMPOTENCY_KEY = "idempotency_key"
CORRELATION_ID = "correlation_id"
PARENT_TASK_ID = "parent_task_id"
"""On a follow-up (``ctx.submit``): the task id of the task that submitted it."""
ENVELOPE = "taskworker_envelope"
"""The key that marks a body as an envelope: the attributes and the payload in one JSON
object, for senders that cannot set message attributes (EventBridge Scheduler's SQS target)."""
ENVELOPE_ATTRIBUTES = frozenset(
    {"task_type", "task_id", "idempotency_key", "correlation_id", "parent_task_id"}
)
"""The attributes an envelope may carry (``caller`` never: only the API may name one)."""
CALLER = "caller"
"""The authenticated principal that enqueued the task, set by the deployed API: the IAM
principal (an assumed role without its session name), the API key id, or the authorizer's
principal id; ``taskworker dev``'s API names :data:`taskworker.edge.LOCAL_CALLER`.
Idempotency keys are scoped by it."""
ERROR_TYPE = "error_type"
ERROR_MESSAGE = "error_message"
FAILED_AT = "failed_at"
STATUS = "status"
SYSTEM_ATTRIBUTES_READ = ("ApproximateReceiveCount", "MessageGroupId")
"""The system attributes a :class:`TaskMessage` is built from: what a consumer asks
ReceiveMessage for (``All`` would make every receive parse a few more for nothing)."""
NO_TASK_TYPE = "(none)"
"""Reported as the task type of a message that carries none."""

SUCCEEDED: Literal["succeeded"] = "succeeded"
FAILED: Literal["failed"] = "failed"
CANCELLED: Literal["cancelled"] = "cancelled"
RESULT_OMITTED = "result_omitted"
TOO_LARGE = "too_large"

MAX_EVENT_BYTES = 262_144
"""SNS's limit for one message (body plus attributes), and for a whole PublishBatch."""

MAX_EVENT_ERROR_TEXT = 4_000
"""How much of an error message travels in a result event; the rest is cut."""

MAX_MESSAGE_BYTES = 262_144
"""SQS's limit for body plus message attributes (names, types and values) on a queue that
keeps the old default; what producers stay under. A DLQ's own limit is read from it."""

MAX_MESSAGE_ATTRIBUTES = 10
"""SQS's limit on message attributes per message."""

MAX_ATTRIBUTE_TEXT = 1_000
"""How much of an error message travels in a DLQ attribute; the rest is cut."""


@dataclass(slots=True)
class TaskMessage:
    """One SQS message, independent of the runtime that received it.

    ``task_id`` is the task's identity (status, result events, logs, DLQ copies): the
    message's ``task_id`` attribute when it carries a valid one (a DLQ copy, or a message
    moved back from the DLQ, keeps the id the client got), else the SQS MessageId.
    ``message_id`` is always the SQS MessageId of *this* copy: what Lambda's batch item
    failures name. ``receive_count`` is ApproximateReceiveCount, which is also the attempt
    number a handler sees.
    """

    task_id: str
    body: str
    attributes: dict[str, str] = field(default_factory=dict)
    receive_count: int = 1
    receipt_handle: str | None = None
    group_id: str | None = None
    queue_arn: str | None = None
    raw_attributes: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """The message attributes as received (either spelling, every data type), kept
    unconverted so the hot path pays nothing; :func:`typed_attributes` reads them."""
    message_id: str = ""
    """The SQS MessageId; defaults to ``task_id`` for a message built directly."""

    def __post_init__(self) -> None:
        if not self.message_id:
            self.message_id = self.task_id
        if TASK_TYPE not in self.attributes and self.body.startswith(_ENVELOPE_START):
            self._open_envelope()

    def _open_envelope(self) -> None:
        """Take the attributes and the payload out of an :func:`envelope` body.

        Only a message without a ``task_type`` attribute is looked at (the hot path pays one
        dict lookup), and a body that is not a well-formed envelope stays as it is, so the
        dispatcher rejects it with its usual reason.
        """
        try:
            data = json.loads(self.body)
        except ValueError:
            return
        if not isinstance(data, dict) or data.get(ENVELOPE) != 1 or "payload" not in data:
            return
        for name in ENVELOPE_ATTRIBUTES:
            value = data.get(name)
            if isinstance(value, str) and value:
                self.attributes.setdefault(name, value)
        self.body = json.dumps(data["payload"], separators=(",", ":"))
        self.task_id = _task_id(self.attributes, self.message_id)

    @property
    def task_type(self) -> str | None:
        return self.attributes.get(TASK_TYPE) or None

    @property
    def idempotency_key(self) -> str | None:
        return self.attributes.get(IDEMPOTENCY_KEY) or None

    @property
    def correlation_id(self) -> str | None:
        return self.attributes.get(CORRELATION_ID) or None

    @property
    def caller(self) -> str | None:
        return self.attributes.get(CALLER) or None

    @property
    def parent_task_id(self) -> str | None:
        return self.attributes.get(PARENT_TASK_ID) or None

    @classmethod
    def from_lambda_record(cls, record: Mapping[str, Any]) -> TaskMessage:
        """Build from one record of Lambda's SQS event (camelCase spelling).

        Tolerates missing or mistyped fields: a broken record must still become a message
        the dispatcher can reject with a reason, never an exception here. Well-formed
        records take a fast path of direct indexing, which raises on anything unusual so
        the tolerant path decides (this runs once per message on the hot path).
        """
        try:
            system = record["attributes"]
            raw = record["messageAttributes"]
            attributes = {}
            for name, attribute in raw.items():
                value = attribute["stringValue"]
                if type(value) is not str or type(name) is not str:
                    raise TypeError(name)
                attributes[name] = value
            message_id, body = record["messageId"], record["body"]
            handle, arn = record["receiptHandle"], record["eventSourceARN"]
            group_id = system.get("MessageGroupId")
            if not (type(message_id) is type(body) is type(handle) is type(arn) is str):
                raise TypeError("unusual record")
            if not (message_id and body and handle and arn):
                raise TypeError("unusual record")
            if not (group_id is None or type(group_id) is str):
                raise TypeError("unusual record")
            receive_count = int(system["ApproximateReceiveCount"])
        except (KeyError, TypeError, ValueError, AttributeError):
            return cls._from_any_lambda_record(record)
        task_id = _task_id(attributes, message_id) if TASK_ID in attributes else message_id
        return cls(task_id, body, attributes, receive_count, handle, group_id or None, arn, raw, message_id)

    @classmethod
    def _from_any_lambda_record(cls, record: Mapping[str, Any]) -> TaskMessage:
        record = _mapping(record)
        system = _mapping(record.get("attributes"))
        message_id = str(record.get("messageId") or "")
        attributes = _string_attributes(record.get("messageAttributes"), "stringValue")
        return cls(
            task_id=_task_id(attributes, message_id),
            message_id=message_id,
            body=_text(record.get("body")),
            attributes=attributes,
            receive_count=_int(system.get("ApproximateReceiveCount"), default=1),
            receipt_handle=_optional_text(record.get("receiptHandle")),
            group_id=_optional_text(system.get("MessageGroupId")),
            queue_arn=_optional_text(record.get("eventSourceARN")),
            raw_attributes=_mapping(record.get("messageAttributes")),
        )

    @classmethod
    def from_sqs_message(cls, message: Mapping[str, Any], queue_arn: str | None = None) -> TaskMessage:
        """Build from one entry of ReceiveMessage's ``Messages`` (PascalCase spelling)."""
        system = _mapping(message.get("Attributes"))
        message_id = str(message.get("MessageId") or "")
        attributes = _string_attributes(message.get("MessageAttributes"), "StringValue")
        return cls(
            task_id=_task_id(attributes, message_id),
            message_id=message_id,
            body=_text(message.get("Body")),
            attributes=attributes,
            receive_count=_int(system.get("ApproximateReceiveCount"), default=1),
            receipt_handle=_optional_text(message.get("ReceiptHandle")),
            group_id=_optional_text(system.get("MessageGroupId")),
            queue_arn=queue_arn,
            raw_attributes=_mapping(message.get("MessageAttributes")),
        )


_ENVELOPE_START = '{"' + ENVELOPE + '"'


def _task_id(attributes: Mapping[str, str], message_id: str) -> str:
    """The ``task_id`` attribute when it is a valid task id, else the MessageId.

    Valid: 1 to :data:`MAX_TASK_ID_CHARS` printable ASCII characters without spaces. An
    invalid one is ignored and logged (its length only: it came from the sender), so a
    bad attribute can neither break the consumer nor inject into logs and keys.
    """
    value = attributes.get(TASK_ID)
    if value is None:
        return message_id
    if _TASK_ID.fullmatch(value):
        return value
    _logger.warning(
        "ignored an invalid task_id attribute; the task is known by its MessageId",
        extra={"message_id": message_id, "task_id_chars": len(value)},
    )
    return message_id


def message_size(body: str, attributes: Mapping[str, str]) -> int:
    """Bytes SQS counts against :data:`MAX_MESSAGE_BYTES` for a body and String attributes."""
    size = len(body.encode())
    for name, value in attributes.items():
        size += len(name.encode()) + len(b"String") + len(value.encode())
    return size


def send_attributes(
    task_type: str,
    *,
    idempotency_key: str | None = None,
    correlation_id: str | None = None,
    caller: str | None = None,
    task_id: str | None = None,
    parent_task_id: str | None = None,
) -> dict[str, str]:
    """The String attributes a producer sets on a new task message (``caller``: only an
    API that authenticated the sender names one; ``task_id``: only when the id is chosen
    before sending, as for follow-ups and scheduled tasks)."""
    attributes = {TASK_TYPE: task_type}
    for name, value in (
        (IDEMPOTENCY_KEY, idempotency_key),
        (CORRELATION_ID, correlation_id),
        (CALLER, caller),
        (TASK_ID, task_id),
        (PARENT_TASK_ID, parent_task_id),
    ):
        if value:
            attributes[name] = value
    return attributes


def envelope(body: str, attributes: Mapping[str, str]) -> str:
    """One JSON body carrying ``attributes`` and the payload ``body``.

    EventBridge Scheduler's SQS target sets the body only (``SqsParameters`` has just
    ``MessageGroupId``), so a scheduled task travels as
    ``{"taskworker_envelope": 1, "task_type": ..., "task_id": ..., "payload": {...}}`` and
    :class:`TaskMessage` opens it on arrival: nothing downstream sees the difference.
    """
    unknown = set(attributes) - ENVELOPE_ATTRIBUTES
    if unknown:
        raise ValueError(f"an envelope cannot carry {sorted(unknown)}")
    data = {ENVELOPE: 1, **attributes}
    return json.dumps(data, separators=(",", ":"))[:-1] + ',"payload":' + body + "}"


def typed_attributes(message: TaskMessage) -> dict[str, dict[str, Any]]:
    """The message's attributes in SendMessage's shape with their types kept.

    Number stays Number (custom types such as ``Number.int`` too), Binary stays Binary
    (Lambda's base64 text becomes bytes again, as boto3 sends them). String attributes
    the message was built with directly are included as String.
    """
    typed: dict[str, dict[str, Any]] = {}
    for name, raw in message.raw_attributes.items():
        if not isinstance(name, str) or not isinstance(raw, Mapping):
            continue
        data_type = raw.get("DataType", raw.get("dataType"))
        string = raw.get("StringValue", raw.get("stringValue"))
        binary = raw.get("BinaryValue", raw.get("binaryValue"))
        if not isinstance(data_type, str):
            continue
        if isinstance(string, str):
            typed[name] = {"DataType": data_type, "StringValue": string}
        elif binary is not None:
            typed[name] = {"DataType": data_type, "BinaryValue": _binary(binary)}
    for name, value in message.attributes.items():
        typed.setdefault(name, {"DataType": "String", "StringValue": value})
    return typed


def typed_message_size(body: str, attributes: Mapping[str, Mapping[str, Any]]) -> int:
    """Bytes SQS counts for a body and attributes in SendMessage's shape (any data type)."""
    size = len(body.encode())
    for name, value in attributes.items():
        data = value.get("StringValue", value.get("BinaryValue", b""))
        size += len(name.encode()) + len(str(value.get("DataType", "")).encode())
        size += len(data) if isinstance(data, bytes | bytearray) else len(str(data).encode())
    return size


REASON_ATTRIBUTES = (TASK_ID, ERROR_TYPE, ERROR_MESSAGE, FAILED_AT, TASK_TYPE)
"""What a DLQ copy carries before any original attribute, most important first."""


def dead_letter_attributes(
    message: TaskMessage, error_type: str, error_message: str, *, max_bytes: int = MAX_MESSAGE_BYTES
) -> dict[str, dict[str, Any]]:
    """The DLQ copy's attributes: identity and reason first, then the originals, typed.

    The copy carries the original task id (a copy of a copy keeps the first one), the
    reason, the task type, and as many original attributes as fit SQS's limits of
    :data:`MAX_MESSAGE_ATTRIBUTES` attributes and ``max_bytes`` per message (the DLQ's
    ``MaximumMessageSize``). Originals are dropped first, least important first; only
    when the body alone leaves no room are the reason's parts dropped too (the caller
    checks for :data:`ERROR_TYPE` and says so).
    """
    reason = {
        TASK_ID: message.task_id or "unknown",
        ERROR_TYPE: error_type,
        ERROR_MESSAGE: _clip(error_message) or error_type,
        FAILED_AT: utc_now_iso(),
        TASK_TYPE: message.task_type or NO_TASK_TYPE,
    }
    attributes = {name: {"DataType": "String", "StringValue": value} for name, value in reason.items()}
    originals = typed_attributes(message)
    known = [k for k in (IDEMPOTENCY_KEY, CORRELATION_ID) if k in originals]
    for name in [*known, *originals]:
        if len(attributes) >= MAX_MESSAGE_ATTRIBUTES:
            break
        attributes.setdefault(name, originals[name])
    return _fitting(message.body, attributes, max_bytes)


def _fitting(body: str, attributes: dict[str, dict[str, Any]], max_bytes: int) -> dict[str, dict[str, Any]]:
    """Drop attributes until the copy fits: originals (last first), then the reason's parts.

    The body is never cut: a copy with fewer attributes still holds the task.
    """
    originals = [name for name in reversed(attributes) if name not in REASON_ATTRIBUTES]
    droppable = [*originals, FAILED_AT, ERROR_MESSAGE, TASK_TYPE, ERROR_TYPE, TASK_ID]
    while attributes and typed_message_size(body, attributes) > max_bytes and droppable:
        attributes.pop(droppable.pop(0), None)
    return attributes


def _binary(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    import base64

    return base64.b64decode(str(value))


@dataclass(frozen=True, slots=True)
class ResultEvent:
    """One finished task as published to the result topic.

    The body is JSON with ``task_id``, ``task_type``, ``status``, ``attempt``, the
    timestamps, ``duration_ms``, and either ``result`` or ``error`` {``type``, ``message``};
    ``task_type`` and ``status`` also travel as String message attributes so that
    subscribers can filter without parsing bodies.
    """

    task_id: str
    task_type: str
    status: Literal["succeeded", "failed", "cancelled"]
    attempt: int
    started_at: str
    finished_at: str
    duration_ms: float
    result: Any = None
    error_type: str | None = None
    error_message: str | None = None
    duplicate: bool = False
    correlation_id: str | None = None

    def body(self, *, omit_result: bool = False) -> str:
        """The JSON text; ``omit_result`` drops an inline result that is too large to send."""
        data: dict[str, Any] = {
            "task_id": self.task_id,
            "task_type": self.task_type,
            "status": self.status,
            "attempt": self.attempt,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_ms": round(self.duration_ms, 3),
        }
        if self.status == SUCCEEDED:
            if omit_result:
                data[RESULT_OMITTED] = TOO_LARGE
            else:
                data["result"] = self.result
            if self.duplicate:
                data["duplicate"] = True
        else:
            text = self.error_message or ""
            if len(text) > MAX_EVENT_ERROR_TEXT:
                text = text[: MAX_EVENT_ERROR_TEXT - 1] + "…"
            data["error"] = {"type": self.error_type or "", "message": text}
        if self.correlation_id:
            data[CORRELATION_ID] = self.correlation_id
        return json.dumps(data, separators=(",", ":"), default=str)

    def attributes(self) -> dict[str, str]:
        """String message attributes for SNS filter policies."""
        return {TASK_TYPE: self.task_type, STATUS: self.status}

    def fitting_body(self) -> str:
        """The body, without the inline result when the whole message would exceed SNS's limit."""
        body = self.body()
        if message_size(body, self.attributes()) <= MAX_EVENT_BYTES or self.status != SUCCEEDED:
            return body
        return self.body(omit_result=True)


def queue_url_from_arn(arn: str) -> str:
    """``arn:aws:sqs:REGION:ACCOUNT:NAME`` to the queue's standard URL."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        raise ValueError(f"not an SQS queue ARN: {arn!r}")
    _, partition, _, region, account, name = parts
    suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    return f"https://sqs.{region}.{suffix}/{account}/{name}"


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_from_epoch(seconds: float) -> str:
    """Epoch seconds as the ISO-8601 UTC text used in events and status records."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ATTRIBUTE_TEXT else text[: MAX_ATTRIBUTE_TEXT - 1] + "…"


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _optional_text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any, default: int | None) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _string_attributes(raw: Any, value_key: str) -> dict[str, str]:
    """Keep the String-typed message attributes; binary ones cannot route or key a task."""
    result: dict[str, str] = {}
    for name, attribute in _mapping(raw).items():
        value = attribute.get(value_key) if isinstance(attribute, Mapping) else None
        if isinstance(name, str) and isinstance(value, str):
            result[name] = value
    return result

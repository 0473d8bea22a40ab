# ruff: noqa: N803
# (boto3's keyword arguments are CamelCase; the fake must accept the same names.)
"""In-memory fake of the boto3 SQS client, for offline unit tests.

Why a hand-written fake rather than moto: taskworker's tests need *control*
(a manual clock, request counting, failure injection) and speed, while still
getting the semantics a consumer depends on -- visibility timeouts, receive
counts, redrive to a dead-letter queue, FIFO group ordering and deduplication,
long polling, size limits and the exact error codes boto3 reports.

Only the operations taskworker uses are implemented.  Method names, keyword
arguments, response shapes and error codes follow botocore's SQS service
model (JSON protocol, ``awsQueryCompatible``): an error's ``Error.Code`` is the
legacy query code (``AWS.SimpleQueueService.NonExistentQueue``), its
``Error.QueryErrorCode`` the modeled shape name (``QueueDoesNotExist``), and
the raised class is the one ``client.exceptions`` would raise.

Deliberate deviations from the real service are listed in ``FakeSQS``'s
docstring.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import hashlib
import json
import re
import struct
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import ClientError

__all__ = [
    "FakeSQS",
    "ManualClock",
    "md5_of_message_attributes",
    "message_size",
]

Response = dict[str, Any]
Clock = Callable[[], float]

DEFAULT_MAX_MESSAGE_SIZE = 262_144
"""Default ``MaximumMessageSize`` (and batch payload limit) of a fake queue, in bytes."""

MAX_VISIBILITY_TIMEOUT = 43_200
MAX_BATCH_ENTRIES = 10
FIFO_DEDUP_WINDOW = 300.0
QUEUE_RECREATE_COOLDOWN = 60.0
PURGE_COOLDOWN = 60.0
SENDER_ID = "AIDAFAKESQSSENDER0000"
"""``SenderId`` of messages sent through the fake (an IAM-user-id-like value)."""

_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_BATCH_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_ATTR_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,256}$")
_INVALID_BODY_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_HANDLE_PREFIX = "fake-rh1|"


class ManualClock:
    """A clock that only moves when told to; pass it as ``FakeSQS(clock=...)``.

    Returns epoch seconds (SentTimestamp and friends are derived from it).
    Thread-safe, so a test thread may advance it while a worker thread runs.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward; negative steps are refused (time never runs backwards)."""
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        with self._lock:
            self._now += seconds


# --------------------------------------------------------------------------- errors

# Modeled SQS error shape -> (legacy query code boto3 reports as Error.Code, HTTP status).
_MODELED_ERRORS: dict[str, tuple[str, int]] = {
    "QueueDoesNotExist": ("AWS.SimpleQueueService.NonExistentQueue", 400),
    "QueueNameExists": ("QueueAlreadyExists", 400),
    "QueueDeletedRecently": ("AWS.SimpleQueueService.QueueDeletedRecently", 400),
    "ReceiptHandleIsInvalid": ("ReceiptHandleIsInvalid", 400),
    "MessageNotInflight": ("AWS.SimpleQueueService.MessageNotInflight", 400),
    "BatchEntryIdsNotDistinct": ("AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400),
    "TooManyEntriesInBatchRequest": (
        "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        400,
    ),
    "EmptyBatchRequest": ("AWS.SimpleQueueService.EmptyBatchRequest", 400),
    "BatchRequestTooLong": ("AWS.SimpleQueueService.BatchRequestTooLong", 400),
    "InvalidBatchEntryId": ("AWS.SimpleQueueService.InvalidBatchEntryId", 400),
    "PurgeQueueInProgress": ("AWS.SimpleQueueService.PurgeQueueInProgress", 400),
    "InvalidAttributeName": ("InvalidAttributeName", 400),
    "InvalidAttributeValue": ("InvalidAttributeValue", 400),
    "InvalidMessageContents": ("InvalidMessageContents", 400),
    "UnsupportedOperation": ("AWS.SimpleQueueService.UnsupportedOperation", 400),
    "OverLimit": ("OverLimit", 403),
    "RequestThrottled": ("RequestThrottled", 400),
}
_QUERY_CODE_TO_SHAPE = {code: shape for shape, (code, _) in _MODELED_ERRORS.items()}
_SERVER_FAULT_CODES = {"InternalError", "InternalFailure", "ServiceUnavailable"}


@functools.cache
def _exception_classes() -> Any:
    """botocore's generated SQS exception classes (what ``client.exceptions`` holds).

    Built from the installed service model so ``except sqs.exceptions.X`` works
    the same against the fake and a real client.
    """
    import botocore.session
    from botocore.errorfactory import ClientExceptionsFactory

    model = botocore.session.get_session().get_service_model("sqs")
    return ClientExceptionsFactory().create_client_exceptions(model)


def _response_metadata(status: int) -> dict[str, Any]:
    return {
        "RequestId": str(uuid.uuid4()),
        "HTTPStatusCode": status,
        "HTTPHeaders": {},
        "RetryAttempts": 0,
    }


def sqs_error(code: str, message: str, operation: str) -> ClientError:
    """Build the exception boto3 raises for ``code`` (a shape name or a query code)."""
    shape = code if code in _MODELED_ERRORS else _QUERY_CODE_TO_SHAPE.get(code)
    if shape is not None:
        query_code, status = _MODELED_ERRORS[shape]
    else:
        query_code = code
        status = 500 if code in _SERVER_FAULT_CODES else 400
    error_type = "Receiver" if status >= 500 else "Sender"
    response: Any = {
        "Error": {
            "Code": query_code,
            "Message": message,
            "Type": error_type,
            "QueryErrorCode": shape or code,
        },
        "ResponseMetadata": _response_metadata(status),
    }
    cls: type[ClientError] = _exception_classes().from_code(shape or code)
    return cls(response, operation)


class _SQSError(Exception):
    """Internal: an error to surface either as ClientError or as a batch entry failure."""

    def __init__(self, code: str, message: str, sender_fault: bool = True) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.sender_fault = sender_fault

    def batch_entry(self, entry_id: str) -> dict[str, Any]:
        """The ``BatchResultErrorEntry`` for this failure; per-entry codes are query codes."""
        shape = self.code
        code = _MODELED_ERRORS[shape][0] if shape in _MODELED_ERRORS else shape
        return {"Id": entry_id, "SenderFault": self.sender_fault, "Code": code, "Message": self.message}


def _invalid_param(name: str, value: object, reason: str) -> _SQSError:
    return _SQSError(
        "InvalidParameterValue",
        f"Value {value} for parameter {name} is invalid. Reason: {reason}",
    )


# ------------------------------------------------------------------- message content


def _length_prefixed(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _binary_value(value: object) -> bytes:
    """boto3 accepts ``bytes``, ``bytearray`` or ``str`` (UTF-8 encoded) for blobs."""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise TypeError(f"BinaryValue must be bytes or str, not {type(value).__name__}")


def md5_of_message_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> str:
    """MD5 of message attributes exactly as SQS computes it.

    Per attribute, in name order: 4-byte big-endian length + UTF-8 name,
    length + data type, a transport byte (1 string/number, 2 binary), then
    length + value bytes.  Callers (and AWS SDKs) use it to verify integrity.
    """
    buf = bytearray()
    for name in sorted(attributes):
        attr = attributes[name]
        data_type = str(attr["DataType"])
        buf += _length_prefixed(name.encode("utf-8"))
        buf += _length_prefixed(data_type.encode("utf-8"))
        if data_type.startswith("Binary"):
            buf += b"\x02" + _length_prefixed(_binary_value(attr["BinaryValue"]))
        else:
            buf += b"\x01" + _length_prefixed(str(attr["StringValue"]).encode("utf-8"))
    return hashlib.md5(bytes(buf)).hexdigest()


def message_size(body: str, attributes: Mapping[str, Mapping[str, Any]]) -> int:
    """Bytes SQS counts against the size limit: body plus attribute names, types, values."""
    total = len(body.encode("utf-8"))
    for name, attr in attributes.items():
        total += len(name.encode("utf-8")) + len(str(attr.get("DataType", "")).encode("utf-8"))
        if "BinaryValue" in attr:
            total += len(_binary_value(attr["BinaryValue"]))
        else:
            total += len(str(attr.get("StringValue", "")).encode("utf-8"))
    return total


def _validate_body(body: object) -> str:
    if not isinstance(body, str) or body == "":
        raise _SQSError("MissingParameter", "The request must contain the parameter MessageBody.")
    bad = _INVALID_BODY_CHAR.search(body)
    if bad:
        raise _SQSError(
            "InvalidMessageContents",
            f"Invalid binary character '#x{ord(bad.group()):X}' was found in the message body, "
            "the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | "
            "#xE000 to #xFFFD | #x10000 to #x10FFFF",
        )
    return body


def _valid_attribute_name(name: str) -> bool:
    lowered = name.lower()
    return bool(
        _ATTR_NAME_RE.match(name)
        and not lowered.startswith(("aws.", "amazon."))
        and not name.startswith(".")
        and not name.endswith(".")
        and ".." not in name
    )


def _normalize_attribute(name: str, attr: Mapping[str, Any]) -> dict[str, Any]:
    """Validate one user message attribute and return it in boto3's response shape."""
    if not _valid_attribute_name(name):
        raise _SQSError("InvalidParameterValue", f"Message (user) attribute name '{name}' is invalid.")
    data_type = str(attr.get("DataType", ""))
    base = data_type.split(".", 1)[0]
    if base not in ("String", "Number", "Binary") or len(data_type) > 256:
        raise _SQSError(
            "InvalidParameterValue",
            f"The message attribute '{name}' has an invalid message attribute type, the set of "
            "supported type prefixes is Binary, Number, and String.",
        )
    value_key = "BinaryValue" if base == "Binary" else "StringValue"
    value = attr.get(value_key)
    if value is None or len(value) == 0:
        raise _SQSError(
            "InvalidParameterValue",
            f"Message (user) attribute '{name}' must contain a non-empty value of type '{base}'.",
        )
    if base == "Binary":
        return {"DataType": data_type, "BinaryValue": _binary_value(value)}
    if base == "Number" and not _is_number(str(value)):
        raise _SQSError(
            "InvalidParameterValue",
            f"Can't cast the value of message (user) attribute '{name}' to a number.",
        )
    return {"DataType": data_type, "StringValue": str(value)}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip().lower() not in ("nan", "inf", "-inf", "+inf", "infinity")


def _normalize_attributes(attrs: Mapping[str, Mapping[str, Any]] | None) -> dict[str, Any]:
    attrs = attrs or {}
    if len(attrs) > 10:
        raise _SQSError(
            "InvalidParameterValue",
            f"Number of message attributes [{len(attrs)}] exceeds the allowed maximum [10].",
        )
    return {name: _normalize_attribute(name, attr) for name, attr in attrs.items()}


# ------------------------------------------------------------------- queue state


@dataclass
class _Message:
    """One stored message and its delivery bookkeeping."""

    message_id: str
    body: str
    attributes: dict[str, Any]
    sent_at: float
    visible_at: float
    md5_body: str
    md5_attributes: str | None
    sender_id: str = SENDER_ID
    group_id: str | None = None
    dedup_id: str | None = None
    sequence_number: str | None = None
    trace_header: str | None = None
    receive_count: int = 0
    first_receive_at: float | None = None
    received_at: float | None = None
    receipt_handle: str | None = None
    dlq_source_arn: str | None = None

    def in_flight(self, now: float) -> bool:
        """Received and still hidden by its visibility timeout."""
        return self.receipt_handle is not None and now < self.visible_at

    def delayed(self, now: float) -> bool:
        """Not yet receivable because of DelaySeconds."""
        return self.receipt_handle is None and now < self.visible_at


_INT_ATTRIBUTES: dict[str, tuple[int, int]] = {
    "DelaySeconds": (0, 900),
    "MaximumMessageSize": (1024, 1_048_576),
    "MessageRetentionPeriod": (60, 1_209_600),
    "ReceiveMessageWaitTimeSeconds": (0, 20),
    "VisibilityTimeout": (0, MAX_VISIBILITY_TIMEOUT),
    "KmsDataKeyReusePeriodSeconds": (60, 86_400),
}
_DEFAULTS: dict[str, str] = {
    "DelaySeconds": "0",
    "MaximumMessageSize": str(DEFAULT_MAX_MESSAGE_SIZE),
    "MessageRetentionPeriod": "345600",
    "ReceiveMessageWaitTimeSeconds": "0",
    "VisibilityTimeout": "30",
    "SqsManagedSseEnabled": "true",
}
_FIFO_ONLY = ("ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit")
_SETTABLE = (
    *_INT_ATTRIBUTES,
    "Policy",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "KmsMasterKeyId",
    "SqsManagedSseEnabled",
    *_FIFO_ONLY,
)
_READ_ONLY = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "QueueArn",
)


@dataclass
class _Queue:
    """A queue's configuration and messages (insertion-ordered, so FIFO order is kept)."""

    name: str
    url: str
    arn: str
    created_at: float
    attributes: dict[str, str]
    modified_at: float = 0.0
    messages: dict[str, _Message] = field(default_factory=dict)
    dedup: dict[tuple[str, str], tuple[float, str, str | None]] = field(default_factory=dict)
    last_purge: float | None = None

    @property
    def fifo(self) -> bool:
        return self.name.endswith(".fifo")

    def int_attr(self, name: str) -> int:
        return int(self.attributes[name])

    def redrive(self) -> tuple[str, int] | None:
        """(dead-letter target ARN, maxReceiveCount) if a redrive policy is set."""
        raw = self.attributes.get("RedrivePolicy")
        if not raw:
            return None
        policy = json.loads(raw)
        return str(policy["deadLetterTargetArn"]), int(policy["maxReceiveCount"])

    def expire(self, now: float) -> None:
        """Drop messages past the retention period (based on the original send time)."""
        retention = self.int_attr("MessageRetentionPeriod")
        for msg_id in [m.message_id for m in self.messages.values() if now >= m.sent_at + retention]:
            del self.messages[msg_id]
        for key in [k for k, (until, _, _) in self.dedup.items() if now >= until]:
            del self.dedup[key]

    def counts(self, now: float) -> tuple[int, int, int]:
        """(visible, in flight, delayed) message counts."""
        visible = in_flight = delayed = 0
        for msg in self.messages.values():
            if msg.in_flight(now):
                in_flight += 1
            elif msg.delayed(now):
                delayed += 1
            else:
                visible += 1
        return visible, in_flight, delayed

    def next_change(self, now: float) -> float | None:
        """Earliest future time at which some message becomes receivable."""
        times = [m.visible_at for m in self.messages.values() if m.visible_at > now]
        return min(times, default=None)


def _check_int(name: str, value: object) -> str:
    low, high = _INT_ATTRIBUTES[name]
    try:
        number = int(str(value))
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        raise _SQSError("InvalidAttributeValue", f"Invalid value for the parameter {name}.")
    return str(number)


def _check_bool(name: str, value: object) -> str:
    text = str(value).lower()
    if text not in ("true", "false"):
        raise _SQSError("InvalidAttributeValue", f"Invalid value for the parameter {name}.")
    return text


# --------------------------------------------------------------------------- the fake

_OPERATIONS = frozenset(
    {
        "CreateQueue",
        "GetQueueUrl",
        "GetQueueAttributes",
        "SetQueueAttributes",
        "DeleteQueue",
        "ListQueues",
        "PurgeQueue",
        "SendMessage",
        "SendMessageBatch",
        "ReceiveMessage",
        "DeleteMessage",
        "DeleteMessageBatch",
        "ChangeMessageVisibility",
        "ChangeMessageVisibilityBatch",
    }
)
_BATCH_OPERATIONS = frozenset(
    {
        "SendMessageBatch",
        "DeleteMessageBatch",
        "ChangeMessageVisibilityBatch",
    }
)


@dataclass
class _Injection:
    """A pending injected failure (see ``FakeSQS.fail_next``)."""

    code: str
    message: str
    sender_fault: bool
    remaining: int
    entries: set[str] | None


class FailureInjector:
    """Pending injected failures per operation; shared by FakeSQS and FakeSNS.

    Whole-call failures are consumed one per call; entry failures are consumed
    per batch entry id, so a test can make exactly ``id1`` fail once.
    """

    def __init__(self, operations: frozenset[str], batch_operations: frozenset[str]) -> None:
        self._operations = operations
        self._batch_operations = batch_operations
        self._pending: dict[str, list[_Injection]] = {}

    def add(
        self,
        operation: str,
        *,
        count: int,
        entries: Iterable[str] | None,
        code: str,
        message: str | None,
        sender_fault: bool,
    ) -> None:
        if operation not in self._operations:
            raise ValueError(f"unknown operation {operation!r}")
        if entries is not None and operation not in self._batch_operations:
            raise ValueError(f"{operation} is not a batch operation; entries= needs one")
        if count < 1:
            raise ValueError("count must be >= 1")
        self._pending.setdefault(operation, []).append(
            _Injection(
                code=code,
                message=message or f"Injected failure ({code})",
                sender_fault=sender_fault,
                remaining=count,
                entries=set(entries) if entries is not None else None,
            )
        )

    def take_call(self, operation: str) -> _Injection | None:
        """The whole-call failure to apply to this call, if any (consumed)."""
        for inj in self._pending.get(operation, []):
            if inj.entries is None and inj.remaining > 0:
                inj.remaining -= 1
                return inj
        return None

    def take_entry(self, operation: str, entry_id: str) -> _Injection | None:
        """The failure to apply to one batch entry, if any (consumed for that id)."""
        for inj in self._pending.get(operation, []):
            if inj.entries is not None and entry_id in inj.entries:
                inj.entries.discard(entry_id)
                return inj
        return None

    def clear(self) -> None:
        self._pending.clear()


def _ok(payload: Mapping[str, Any] | None = None) -> Response:
    response: Response = dict(payload or {})
    response["ResponseMetadata"] = _response_metadata(200)
    return response


def _parse_handle(handle: object) -> tuple[str, str] | None:
    """(queue ARN, message id) encoded in one of our receipt handles, or None if garbage."""
    if not isinstance(handle, str) or not handle:
        return None
    try:
        decoded = base64.urlsafe_b64decode(handle.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        return None
    parts = decoded.split("|")
    if len(parts) != 4 or f"{parts[0]}|" != _HANDLE_PREFIX:
        return None
    return parts[1], parts[2]


class InjectsFailures:
    """``fail_next`` / ``clear_failures`` for the fakes, over their :class:`FailureInjector`."""

    _lock: threading.RLock
    _injector: FailureInjector

    def fail_next(
        self,
        operation: str,
        *,
        count: int = 1,
        entries: Iterable[str] | None = None,
        code: str = "InternalError",
        message: str | None = None,
        sender_fault: bool = False,
    ) -> None:
        """Make upcoming calls of ``operation`` fail, so callers' error paths can be tested.

        Without ``entries`` the next ``count`` calls raise ``ClientError(code)``
        before doing anything.  With ``entries`` (batch operations only) each
        listed batch entry id fails once -- it is reported in ``Failed`` with
        ``SenderFault=sender_fault`` and not performed -- while the other
        entries of the batch succeed.
        """
        with self._lock:
            self._injector.add(
                operation, count=count, entries=entries, code=code, message=message, sender_fault=sender_fault
            )

    def clear_failures(self) -> None:
        """Forget all pending injected failures."""
        with self._lock:
            self._injector.clear()


class FakeSQS(InjectsFailures):
    """Thread-safe in-memory stand-in for ``boto3.client("sqs")``.

    Extras beyond boto3: ``calls`` (a Counter of operation names, one per
    request, including failed ones), ``fail_next(...)`` (failure injection),
    ``exceptions`` (the same exception classes a real client exposes) and
    ``inject_message(...)`` (used by FakeSNS to deliver without counting a request).

    Deliberate deviations from real SQS:

    * Short polls (``WaitTimeSeconds=0``) see every available message; real SQS
      samples a subset of servers and may return fewer or none.
    * Standard queues deliver in send order and exactly once per visibility
      window; real standard queues may reorder or duplicate.
    * ChangeMessageVisibility with a stale handle (message received again
      since, or deleted) fails with ``InvalidParameterValue`` ("Message does not
      exist or is not available for visibility timeout change"), as SQS does.
    * Deleting with a *stale* receipt handle (the message was received again
      since) succeeds but does not delete -- SQS documents "the request will
      succeed, but the message might not be deleted"; the fake always takes the
      strict branch so callers relying on stale handles see the redelivery.
    * ``MaximumMessageSize`` defaults to 262,144 bytes (the long-standing
      limit, and SNS's); SQS raised its default and maximum to 1 MiB in 2025.
      Pass ``default_max_message_size=1_048_576`` for today's SQS default.
      The total batch payload limit equals the queue's ``MaximumMessageSize``.
    * With a ``ManualClock`` a long poll does not block: it advances the manual
      clock to the moment a message becomes receivable, or to the end of the
      wait (virtual time passes during the poll).  With any other clock it
      blocks on a condition variable for at most ``WaitTimeSeconds`` real seconds.
    * Queue deletion and purge take effect at once (SQS: up to 60 s), but the
      60-second "recreate" and "purge again" cool-downs are enforced using the clock.
    * Messages moved to a dead-letter queue keep their id, send time and
      receive count; the DLQ's DelaySeconds is not applied to them.
    * Policies, KMS, tags, ``ReceiveRequestAttemptId`` and high-throughput FIFO
      settings are stored/accepted but have no effect.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        default_max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    ) -> None:
        self._clock: Clock = clock or time.time
        self._default_max_size = _check_int("MaximumMessageSize", default_max_message_size)
        self.region = region
        self.account_id = account_id
        self.calls: Counter[str] = Counter()
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._queues: dict[str, _Queue] = {}
        self._deleted_at: dict[str, float] = {}
        self._sequence = 0
        self._injector = FailureInjector(_OPERATIONS, _BATCH_OPERATIONS)

    # ------------------------------------------------------------------ extras

    @property
    def clock(self) -> Clock:
        """The clock driving visibility, delays and timestamps (shared with FakeSNS)."""
        return self._clock

    @property
    def exceptions(self) -> Any:
        """SQS exception classes, as on a real client (``fake.exceptions.QueueDoesNotExist``)."""
        return _exception_classes()

    def queue_arn(self, queue_url: str) -> str:
        """ARN of a queue, without counting a request (handy in test setup)."""
        with self._api("GetQueueAttributes", counted=False):
            return self._queue(queue_url).arn

    # --------------------------------------------------------------- plumbing

    @contextlib.contextmanager
    def _api(self, operation: str, *, counted: bool = True) -> Iterator[None]:
        """Hold the lock for one request, count it, and map internal failures to ClientError."""
        with self._cond:
            try:
                if counted:
                    self.calls[operation] += 1
                    injected = self._injector.take_call(operation)
                    if injected is not None:
                        raise _SQSError(injected.code, injected.message, injected.sender_fault)
                yield
            except _SQSError as failure:
                raise sqs_error(failure.code, failure.message, operation) from None

    def _url(self, name: str) -> str:
        return f"https://sqs.{self.region}.amazonaws.com/{self.account_id}/{name}"

    def _arn(self, name: str) -> str:
        return f"arn:aws:sqs:{self.region}:{self.account_id}:{name}"

    def _queue(self, url: object) -> _Queue:
        """Resolve a queue URL (any host; path ``/<account>/<name>``), expiring old messages."""
        parts = urlparse(str(url)).path.strip("/").split("/")
        queue = None
        if len(parts) == 2 and parts[0] == self.account_id:
            queue = self._queues.get(parts[1])
        if queue is None:
            raise _SQSError("QueueDoesNotExist", "The specified queue does not exist.")
        queue.expire(self._clock())
        return queue

    def _queue_by_arn(self, arn: str) -> _Queue | None:
        prefix = f"arn:aws:sqs:{self.region}:{self.account_id}:"
        if not arn.startswith(prefix):
            return None
        queue = self._queues.get(arn[len(prefix) :])
        if queue is not None:
            queue.expire(self._clock())
        return queue

    def _next_sequence(self) -> str:
        """A 20-digit, ever-increasing sequence number (SQS: large, non-consecutive)."""
        self._sequence += 1
        return str(18_000_000_000_000_000_000 + self._sequence * 1000)

    # ------------------------------------------------------ queue management

    def create_queue(
        self,
        *,
        QueueName: str,
        Attributes: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> Response:
        """Create a queue, or return the URL of an identical existing one (idempotent)."""
        with self._api("CreateQueue"):
            now = self._clock()
            attrs = dict(Attributes or {})
            fifo = _check_queue_name(QueueName, attrs.pop("FifoQueue", None))
            config = self._validated_attributes(attrs, fifo=fifo)
            existing = self._queues.get(QueueName)
            if existing is not None:
                _check_same_attributes(existing, config)
                return _ok({"QueueUrl": existing.url})
            deleted_at = self._deleted_at.get(QueueName)
            if deleted_at is not None and now < deleted_at + QUEUE_RECREATE_COOLDOWN:
                raise _SQSError(
                    "QueueDeletedRecently",
                    "You must wait 60 seconds after deleting a queue before you can create "
                    "another with the same name.",
                )
            self._queues[QueueName] = _Queue(
                name=QueueName,
                url=self._url(QueueName),
                arn=self._arn(QueueName),
                created_at=now,
                modified_at=now,
                attributes=_initial_attributes(
                    fifo, {"MaximumMessageSize": self._default_max_size, **config}
                ),
            )
            return _ok({"QueueUrl": self._url(QueueName)})

    def _validated_attributes(self, attrs: Mapping[str, object], *, fifo: bool) -> dict[str, str]:
        """Check settable queue attributes and normalise their values to strings."""
        out: dict[str, str] = {}
        for name, value in attrs.items():
            if name in _INT_ATTRIBUTES:
                out[name] = _check_int(name, value)
            elif name in _FIFO_ONLY and fifo:
                out[name] = _check_fifo_attribute(name, value)
            elif name == "RedrivePolicy":
                out[name] = self._check_redrive(str(value), fifo=fifo)
            elif name == "SqsManagedSseEnabled":
                out[name] = _check_bool(name, value)
            elif name in ("Policy", "RedriveAllowPolicy", "KmsMasterKeyId"):
                out[name] = str(value)
            else:
                raise _SQSError("InvalidAttributeName", f"Unknown Attribute {name}.")
        return out

    def _check_redrive(self, raw: str, *, fifo: bool) -> str:
        """Validate a RedrivePolicy JSON document; return it normalised ("" removes it)."""
        if raw == "":
            return ""
        try:
            policy = json.loads(raw)
        except ValueError:
            policy = None
        if not isinstance(policy, dict):
            raise _SQSError(
                "InvalidAttributeValue",
                "Invalid value for the parameter RedrivePolicy. Reason: Redrive policy is not "
                "a valid JSON map.",
            )
        for key in ("deadLetterTargetArn", "maxReceiveCount"):
            if key not in policy:
                raise _invalid_param(
                    "RedrivePolicy",
                    raw,
                    f"Redrive policy does not contain mandatory attribute: {key}.",
                )
        try:
            max_count = int(str(policy["maxReceiveCount"]))
        except ValueError:
            max_count = 0
        if not 1 <= max_count <= 1000:
            raise _invalid_param(
                "RedrivePolicy",
                raw,
                f"Invalid value for maxReceiveCount: {policy['maxReceiveCount']}, valid values "
                "are from 1 to 1000 both inclusive.",
            )
        target = self._queue_by_arn(str(policy["deadLetterTargetArn"]))
        if target is None:
            raise _invalid_param("RedrivePolicy", raw, "Dead letter target does not exist.")
        if target.fifo != fifo:
            raise _invalid_param(
                "RedrivePolicy", raw, "Dead-letter queue must be same type of queue as the source."
            )
        return json.dumps(
            {"deadLetterTargetArn": target.arn, "maxReceiveCount": max_count},
            separators=(",", ":"),
        )

    def get_queue_url(self, *, QueueName: str, QueueOwnerAWSAccountId: str | None = None) -> Response:
        with self._api("GetQueueUrl"):
            owner = QueueOwnerAWSAccountId or self.account_id
            queue = self._queues.get(QueueName) if owner == self.account_id else None
            if queue is None:
                raise _SQSError("QueueDoesNotExist", "The specified queue does not exist.")
            return _ok({"QueueUrl": queue.url})

    def get_queue_attributes(self, *, QueueUrl: str, AttributeNames: Sequence[str] | None = None) -> Response:
        """Return the requested attributes as strings (``All`` for every one)."""
        with self._api("GetQueueAttributes"):
            queue = self._queue(QueueUrl)
            available = self._all_attributes(queue)
            names = list(AttributeNames or [])
            for name in names:
                if name != "All" and name not in _KNOWN_QUEUE_ATTRIBUTES:
                    raise _SQSError("InvalidAttributeName", f"Unknown Attribute {name}.")
            selected = available if "All" in names else {n: available[n] for n in names if n in available}
            return _ok({"Attributes": selected} if selected else {})

    def _all_attributes(self, queue: _Queue) -> dict[str, str]:
        visible, in_flight, delayed = queue.counts(self._clock())
        attrs = {k: v for k, v in queue.attributes.items() if v != ""}
        attrs.update(
            {
                "QueueArn": queue.arn,
                "ApproximateNumberOfMessages": str(visible),
                "ApproximateNumberOfMessagesNotVisible": str(in_flight),
                "ApproximateNumberOfMessagesDelayed": str(delayed),
                "CreatedTimestamp": str(int(queue.created_at)),
                "LastModifiedTimestamp": str(int(queue.modified_at)),
            }
        )
        return attrs

    def set_queue_attributes(self, *, QueueUrl: str, Attributes: Mapping[str, str]) -> Response:
        with self._api("SetQueueAttributes"):
            queue = self._queue(QueueUrl)
            if "FifoQueue" in Attributes:
                raise _SQSError("InvalidAttributeName", "Unknown Attribute FifoQueue.")
            queue.attributes.update(self._validated_attributes(Attributes, fifo=queue.fifo))
            queue.modified_at = self._clock()
            self._cond.notify_all()
            return _ok()

    def delete_queue(self, *, QueueUrl: str) -> Response:
        """Delete at once; the name stays blocked for 60 s (``QueueDeletedRecently``)."""
        with self._api("DeleteQueue"):
            queue = self._queue(QueueUrl)
            del self._queues[queue.name]
            self._deleted_at[queue.name] = self._clock()
            self._cond.notify_all()
            return _ok()

    def list_queues(
        self,
        *,
        QueueNamePrefix: str = "",
        NextToken: str | None = None,
        MaxResults: int | None = None,
    ) -> Response:
        """List queue URLs sorted by name; paginates only when MaxResults is given (like SQS)."""
        with self._api("ListQueues"):
            if MaxResults is not None and not 1 <= MaxResults <= 1000:
                raise _invalid_param(
                    "MaxResults", MaxResults, "MaxResults must be an integer between 1 and 1000."
                )
            names = sorted(n for n in self._queues if n.startswith(QueueNamePrefix))
            if NextToken:
                after = _decode_token(NextToken)
                names = [n for n in names if n > after]
            page = names[: MaxResults or 1000]
            result: Response = {}
            if page:
                result["QueueUrls"] = [self._queues[n].url for n in page]
            if MaxResults is not None and len(names) > len(page):
                result["NextToken"] = base64.urlsafe_b64encode(page[-1].encode()).decode()
            return _ok(result)

    def purge_queue(self, *, QueueUrl: str) -> Response:
        """Delete every message (in flight too); at most once per 60 s per queue."""
        with self._api("PurgeQueue"):
            queue = self._queue(QueueUrl)
            now = self._clock()
            if queue.last_purge is not None and now < queue.last_purge + PURGE_COOLDOWN:
                raise _SQSError(
                    "PurgeQueueInProgress",
                    f"Only one PurgeQueue operation on {queue.name} is allowed every 60 seconds.",
                )
            queue.messages.clear()
            queue.last_purge = now
            self._cond.notify_all()
            return _ok()

    # ---------------------------------------------------------------- sending

    def send_message(
        self,
        *,
        QueueUrl: str,
        MessageBody: str,
        DelaySeconds: int | None = None,
        MessageAttributes: Mapping[str, Mapping[str, Any]] | None = None,
        MessageSystemAttributes: Mapping[str, Mapping[str, Any]] | None = None,
        MessageDeduplicationId: str | None = None,
        MessageGroupId: str | None = None,
    ) -> Response:
        with self._api("SendMessage"):
            queue = self._queue(QueueUrl)
            entry = {
                "MessageBody": MessageBody,
                "DelaySeconds": DelaySeconds,
                "MessageAttributes": MessageAttributes,
                "MessageSystemAttributes": MessageSystemAttributes,
                "MessageDeduplicationId": MessageDeduplicationId,
                "MessageGroupId": MessageGroupId,
            }
            return _ok(self._send_one(queue, entry))

    def send_message_batch(self, *, QueueUrl: str, Entries: Sequence[Mapping[str, Any]]) -> Response:
        """Send up to 10 messages; invalid entries fail individually in ``Failed``."""
        with self._api("SendMessageBatch"):
            queue = self._queue(QueueUrl)
            _check_batch(Entries, "SendMessageBatchRequestEntry")
            limit = queue.int_attr("MaximumMessageSize")
            total = sum(_entry_size(e) for e in Entries)
            if total > limit:
                raise _SQSError(
                    "BatchRequestTooLong",
                    f"Batch requests cannot be longer than {limit} bytes. You have sent {total} bytes.",
                )
            return _ok(
                self._run_batch(
                    "SendMessageBatch",
                    Entries,
                    lambda e: {"Id": e["Id"], **self._send_one(queue, e)},
                )
            )

    def _run_batch(
        self,
        operation: str,
        entries: Sequence[Mapping[str, Any]],
        action: Callable[[Mapping[str, Any]], dict[str, Any]],
    ) -> Response:
        """Apply ``action`` per entry, collecting Successful / Failed like SQS batch APIs."""
        successful: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for entry in entries:
            injected = self._injector.take_entry(operation, str(entry["Id"]))
            try:
                if injected is not None:
                    raise _SQSError(injected.code, injected.message, injected.sender_fault)
                successful.append(action(entry))
            except _SQSError as failure:
                failed.append(failure.batch_entry(str(entry["Id"])))
        return {"Successful": successful, "Failed": failed}

    def _send_one(self, queue: _Queue, entry: Mapping[str, Any]) -> dict[str, Any]:
        """Validate and enqueue one message; return its SendMessage result fields."""
        now = self._clock()
        body = _validate_body(entry.get("MessageBody"))
        attrs = _normalize_attributes(entry.get("MessageAttributes"))
        trace = _trace_header(entry.get("MessageSystemAttributes"))
        limit = queue.int_attr("MaximumMessageSize")
        if message_size(body, attrs) > limit:
            raise _SQSError(
                "InvalidParameterValue",
                f"One or more parameters are invalid. Reason: Message must be shorter than {limit} bytes.",
            )
        delay = _message_delay(queue, entry.get("DelaySeconds"))
        group = entry.get("MessageGroupId")
        dedup = entry.get("MessageDeduplicationId")
        result: dict[str, Any] = {"MD5OfMessageBody": _md5(body)}
        if attrs:
            result["MD5OfMessageAttributes"] = md5_of_message_attributes(attrs)
        if trace is not None:
            result["MD5OfMessageSystemAttributes"] = md5_of_message_attributes(
                {"AWSTraceHeader": {"DataType": "String", "StringValue": trace}}
            )
        if queue.fifo:
            group, dedup = _check_fifo_ids(queue, body, group, dedup)
            key = (group if queue.attributes["DeduplicationScope"] == "messageGroup" else "", dedup)
            if key in queue.dedup:
                _, message_id, sequence = queue.dedup[key]
                return {**result, "MessageId": message_id, "SequenceNumber": sequence}
        elif dedup is not None:
            raise _invalid_param(
                "MessageDeduplicationId",
                dedup,
                "The request include parameter that is not valid for this queue type.",
            )
        msg = _Message(
            message_id=str(uuid.uuid4()),
            body=body,
            attributes=attrs,
            sent_at=now,
            visible_at=now + delay,
            md5_body=result["MD5OfMessageBody"],
            md5_attributes=result.get("MD5OfMessageAttributes"),
            sender_id=str(entry.get("_SenderId", SENDER_ID)),
            group_id=group,
            dedup_id=dedup,
            trace_header=trace,
            sequence_number=self._next_sequence() if queue.fifo else None,
        )
        queue.messages[msg.message_id] = msg
        if queue.fifo:
            queue.dedup[key] = (now + FIFO_DEDUP_WINDOW, msg.message_id, msg.sequence_number)
            result["SequenceNumber"] = msg.sequence_number
        self._cond.notify_all()
        return {**result, "MessageId": msg.message_id}

    def inject_message(
        self,
        queue_arn: str,
        body: str,
        *,
        attributes: Mapping[str, Mapping[str, Any]] | None = None,
        group_id: str | None = None,
        dedup_id: str | None = None,
        sender_id: str = SENDER_ID,
    ) -> str | None:
        """Enqueue a message by queue ARN without counting a request (FakeSNS delivery).

        Returns the message id, or None when the queue does not exist or rejects
        the message -- like SNS, the publisher is not told about delivery failures.
        """
        with self._lock:
            queue = self._queue_by_arn(queue_arn)
            if queue is None:
                return None
            entry = {
                "MessageBody": body,
                "MessageAttributes": attributes,
                "MessageGroupId": group_id,
                "MessageDeduplicationId": dedup_id if queue.fifo else None,
                "_SenderId": sender_id,
            }
            try:
                return str(self._send_one(queue, entry)["MessageId"])
            except _SQSError:
                return None

    # -------------------------------------------------------------- receiving

    def receive_message(
        self,
        *,
        QueueUrl: str,
        AttributeNames: Sequence[str] | None = None,
        MessageSystemAttributeNames: Sequence[str] | None = None,
        MessageAttributeNames: Sequence[str] | None = None,
        MaxNumberOfMessages: int | None = None,
        VisibilityTimeout: int | None = None,
        WaitTimeSeconds: int | None = None,
        ReceiveRequestAttemptId: str | None = None,
    ) -> Response:
        """Receive up to MaxNumberOfMessages, long polling for WaitTimeSeconds if none is ready."""
        with self._api("ReceiveMessage"):
            queue = self._queue(QueueUrl)
            max_n = _ranged("MaxNumberOfMessages", MaxNumberOfMessages, 1, 10, default=1)
            visibility = _ranged(
                "VisibilityTimeout",
                VisibilityTimeout,
                0,
                MAX_VISIBILITY_TIMEOUT,
                default=queue.int_attr("VisibilityTimeout"),
            )
            wait = _ranged(
                "WaitTimeSeconds",
                WaitTimeSeconds,
                0,
                20,
                default=queue.int_attr("ReceiveMessageWaitTimeSeconds"),
            )
            messages = self._poll(QueueUrl, max_n, visibility, wait)
            system = {*(AttributeNames or ()), *(MessageSystemAttributeNames or ())}
            rendered = [_render(m, system, MessageAttributeNames or (), fifo=queue.fifo) for m in messages]
            return _ok({"Messages": rendered} if rendered else {})

    def _poll(self, url: str, max_n: int, visibility: int, wait: int) -> list[_Message]:
        """Take messages now, or wait (clock-driven) until some are receivable or time is up."""
        clock_deadline = self._clock() + wait
        real_deadline = time.monotonic() + wait
        while True:
            queue = self._queue(url)  # re-resolved: it may be deleted while we wait
            now = self._clock()
            taken = self._take(queue, max_n, visibility, now)
            if taken or now >= clock_deadline:
                return taken
            wake = min(clock_deadline, queue.next_change(now) or clock_deadline)
            if isinstance(self._clock, ManualClock):
                self._clock.advance(wake - now)
                continue
            real_left = real_deadline - time.monotonic()
            if real_left <= 0:
                return []
            self._cond.wait(min(wake - now, real_left))

    def _take(self, queue: _Queue, max_n: int, visibility: int, now: float) -> list[_Message]:
        """Pick receivable messages in order, honouring FIFO group locks and redrive."""
        taken: list[_Message] = []
        blocked = {m.group_id for m in queue.messages.values() if queue.fifo and m.in_flight(now)}
        for msg in list(queue.messages.values()):
            if len(taken) >= max_n:
                break
            if queue.fifo and msg.group_id in blocked:
                continue
            if msg.in_flight(now) or msg.delayed(now):
                blocked.add(msg.group_id)  # FIFO: nothing later in this group may overtake
                continue
            if self._dead_letter(queue, msg, now):
                continue
            msg.receive_count += 1
            msg.first_receive_at = msg.first_receive_at or now
            msg.received_at = now
            msg.visible_at = now + visibility
            msg.receipt_handle = _new_handle(queue.arn, msg.message_id)
            taken.append(msg)
        return taken

    def _dead_letter(self, queue: _Queue, msg: _Message, now: float) -> bool:
        """Move ``msg`` to the DLQ if it was already received maxReceiveCount times."""
        redrive = queue.redrive()
        if redrive is None or msg.receive_count < redrive[1]:
            return False
        target = self._queue_by_arn(redrive[0])
        if target is None:
            return False
        del queue.messages[msg.message_id]
        target.messages[msg.message_id] = replace(
            msg, receipt_handle=None, visible_at=now, dlq_source_arn=queue.arn
        )
        self._cond.notify_all()
        return True

    # ------------------------------------------------- deleting and visibility

    def delete_message(self, *, QueueUrl: str, ReceiptHandle: str) -> Response:
        with self._api("DeleteMessage"):
            self._delete(self._queue(QueueUrl), ReceiptHandle)
            return _ok()

    def delete_message_batch(self, *, QueueUrl: str, Entries: Sequence[Mapping[str, Any]]) -> Response:
        with self._api("DeleteMessageBatch"):
            queue = self._queue(QueueUrl)
            _check_batch(Entries, "DeleteMessageBatchRequestEntry")

            def delete(entry: Mapping[str, Any]) -> dict[str, Any]:
                self._delete(queue, entry.get("ReceiptHandle"))
                return {"Id": entry["Id"]}

            return _ok(self._run_batch("DeleteMessageBatch", Entries, delete))

    def _lookup(self, queue: _Queue, handle: object) -> tuple[_Message | None, bool]:
        """(message or None if gone, whether ``handle`` is its latest receipt handle)."""
        parsed = _parse_handle(handle)
        if parsed is None or parsed[0] != queue.arn:
            raise _SQSError(
                "ReceiptHandleIsInvalid",
                f'The input receipt handle "{handle}" is not a valid receipt handle.',
            )
        msg = queue.messages.get(parsed[1])
        return msg, msg is not None and msg.receipt_handle == handle

    def _delete(self, queue: _Queue, handle: object) -> None:
        """Delete by latest handle; gone or stale handles succeed without effect (see class doc)."""
        msg, current = self._lookup(queue, handle)
        if msg is None or not current:
            return
        if queue.fifo and not msg.in_flight(self._clock()):
            # AWS knowledge center: FIFO handles expire with the visibility timeout.
            raise _invalid_param("ReceiptHandle", handle, "The receipt handle has expired.")
        del queue.messages[msg.message_id]
        self._cond.notify_all()

    def change_message_visibility(
        self, *, QueueUrl: str, ReceiptHandle: str, VisibilityTimeout: int
    ) -> Response:
        with self._api("ChangeMessageVisibility"):
            self._change_visibility(self._queue(QueueUrl), ReceiptHandle, VisibilityTimeout)
            return _ok()

    def change_message_visibility_batch(
        self, *, QueueUrl: str, Entries: Sequence[Mapping[str, Any]]
    ) -> Response:
        with self._api("ChangeMessageVisibilityBatch"):
            queue = self._queue(QueueUrl)
            _check_batch(Entries, "ChangeMessageVisibilityBatchRequestEntry")

            def change(entry: Mapping[str, Any]) -> dict[str, Any]:
                self._change_visibility(queue, entry.get("ReceiptHandle"), entry.get("VisibilityTimeout", 0))
                return {"Id": entry["Id"]}

            return _ok(self._run_batch("ChangeMessageVisibilityBatch", Entries, change))

    def _change_visibility(self, queue: _Queue, handle: object, timeout: object) -> None:
        """Restart an in-flight message's visibility timeout from now (0 = visible at once).

        With the latest handle of a message whose timeout already lapsed, SQS
        replies OK without re-hiding it (LocalStack's AWS-validated tests show
        this); ``MessageNotInflight`` is modeled but not observed in practice.
        """
        seconds = _ranged("VisibilityTimeout", timeout, 0, MAX_VISIBILITY_TIMEOUT, default=0)
        msg, current = self._lookup(queue, handle)
        now = self._clock()
        if msg is None or not current:
            raise _invalid_param(
                "ReceiptHandle",
                handle,
                "Message does not exist or is not available for visibility timeout change.",
            )
        if not msg.in_flight(now):
            return  # timeout already lapsed: SQS answers OK and leaves the message visible
        received_at = msg.received_at if msg.received_at is not None else now
        if now + seconds > received_at + MAX_VISIBILITY_TIMEOUT:
            raise _invalid_param(
                "VisibilityTimeout",
                seconds,
                f"Total VisibilityTimeout for the message is beyond the limit "
                f"[{MAX_VISIBILITY_TIMEOUT} seconds]",
            )
        msg.visible_at = now + seconds
        self._cond.notify_all()


# ----------------------------------------------------------------- module helpers

_KNOWN_QUEUE_ATTRIBUTES = frozenset(
    {
        *_INT_ATTRIBUTES,
        *_READ_ONLY,
        *_FIFO_ONLY,
        "Policy",
        "RedrivePolicy",
        "RedriveAllowPolicy",
        "KmsMasterKeyId",
        "SqsManagedSseEnabled",
        "FifoQueue",
    }
)
_SYSTEM_ATTRIBUTES = (
    "SenderId",
    "SentTimestamp",
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageDeduplicationId",
    "MessageGroupId",
    "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def _new_handle(queue_arn: str, message_id: str) -> str:
    raw = f"{_HANDLE_PREFIX}{queue_arn}|{message_id}|{uuid.uuid4().hex}"
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii")


def _decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise _invalid_param("NextToken", token, "Invalid NextToken value.") from None


def _ranged(name: str, value: object, low: int, high: int, *, default: int) -> int:
    """Validate an optional integer request parameter against SQS's documented range."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _invalid_param(name, value, f"Must be >= {low} and <= {high}, if provided.")
    return value


def _check_queue_name(name: str, fifo_attr: object) -> bool:
    """Validate a queue name against its FifoQueue attribute; return whether it is FIFO."""
    fifo = str(fifo_attr).lower() == "true" if fifo_attr is not None else False
    stem = name[: -len(".fifo")] if name.endswith(".fifo") else name
    if fifo or name.endswith(".fifo"):
        if not (fifo and name.endswith(".fifo") and _NAME_RE.match(stem) and len(name) <= 80):
            raise _SQSError(
                "InvalidParameterValue",
                "The name of a FIFO queue can only include alphanumeric characters, hyphens, or "
                "underscores, must end with .fifo suffix and be 1 to 80 in length.",
            )
        return True
    if fifo_attr is not None and str(fifo_attr).lower() != "false":
        raise _SQSError("InvalidAttributeValue", "Invalid value for the parameter FifoQueue.")
    if not _NAME_RE.match(name):
        raise _SQSError(
            "InvalidParameterValue",
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
        )
    return False


def _check_fifo_attribute(name: str, value: object) -> str:
    allowed = {
        "ContentBasedDeduplication": ("true", "false"),
        "DeduplicationScope": ("messageGroup", "queue"),
        "FifoThroughputLimit": ("perQueue", "perMessageGroupId"),
    }[name]
    text = str(value).lower() if name == "ContentBasedDeduplication" else str(value)
    if text not in allowed:
        raise _SQSError("InvalidAttributeValue", f"Invalid value for the parameter {name}.")
    return text


def _initial_attributes(fifo: bool, config: Mapping[str, str]) -> dict[str, str]:
    attrs = dict(_DEFAULTS)
    if fifo:
        attrs.update(
            {
                "FifoQueue": "true",
                "ContentBasedDeduplication": "false",
                "DeduplicationScope": "queue",
                "FifoThroughputLimit": "perQueue",
            }
        )
    attrs.update(config)
    return attrs


def _check_same_attributes(queue: _Queue, config: Mapping[str, str]) -> None:
    """CreateQueue is idempotent only if every given attribute matches the existing queue."""
    for name, value in config.items():
        if queue.attributes.get(name, "") != value:
            raise _SQSError(
                "QueueNameExists",
                f"A queue already exists with the same name and a different value for attribute {name}",
            )


def _check_batch(entries: Sequence[Mapping[str, Any]], entry_type: str) -> None:
    """Whole-request batch checks, in the order SQS applies them."""
    if not entries:
        raise _SQSError("EmptyBatchRequest", f"There should be at least one {entry_type} in the request.")
    if len(entries) > MAX_BATCH_ENTRIES:
        raise _SQSError(
            "TooManyEntriesInBatchRequest",
            f"Maximum number of entries per request are {MAX_BATCH_ENTRIES}. You have sent {len(entries)}.",
        )
    seen: set[str] = set()
    for entry in entries:
        entry_id = str(entry.get("Id", ""))
        if not _BATCH_ID_RE.match(entry_id):
            raise _SQSError(
                "InvalidBatchEntryId",
                "A batch entry id can only contain alphanumeric characters, hyphens and "
                "underscores. It can be at most 80 letters long.",
            )
        if entry_id in seen:
            raise _SQSError("BatchEntryIdsNotDistinct", f"Id {entry_id} repeated.")
        seen.add(entry_id)


def _entry_size(entry: Mapping[str, Any]) -> int:
    body = entry.get("MessageBody")
    try:
        return message_size(body if isinstance(body, str) else "", entry.get("MessageAttributes") or {})
    except TypeError:
        return 0


def _trace_header(system: Mapping[str, Mapping[str, Any]] | None) -> str | None:
    """The only message system attribute SQS accepts on send is AWSTraceHeader."""
    if not system:
        return None
    for name in system:
        if name != "AWSTraceHeader":
            raise _SQSError("InvalidParameterValue", f"Message system attribute name '{name}' is invalid.")
    value = system["AWSTraceHeader"]
    if value.get("DataType") != "String" or not value.get("StringValue"):
        raise _SQSError(
            "InvalidParameterValue",
            "Message system attribute 'AWSTraceHeader' must contain a non-empty value of type 'String'.",
        )
    return str(value["StringValue"])


def _message_delay(queue: _Queue, delay: object) -> int:
    """Per-message DelaySeconds (standard queues only), else the queue's DelaySeconds."""
    if delay is None:
        return queue.int_attr("DelaySeconds")
    if queue.fifo:
        raise _invalid_param(
            "DelaySeconds",
            delay,
            "The request include parameter that is not valid for this queue type.",
        )
    return _ranged("DelaySeconds", delay, 0, 900, default=0)


def _check_fifo_ids(queue: _Queue, body: str, group: object, dedup: object) -> tuple[str, str]:
    """FIFO needs a MessageGroupId and an explicit or content-based deduplication id."""
    if not group:
        raise _SQSError("MissingParameter", "The request must contain the parameter MessageGroupId.")
    for name, value in (("MessageGroupId", group), ("MessageDeduplicationId", dedup)):
        if value is not None and not re.fullmatch(r"[!-~]{1,128}", str(value)):
            raise _invalid_param(
                name,
                value,
                f"{name} can only include alphanumeric and punctuation characters. 1 to 128 in length.",
            )
    if dedup is None:
        if queue.attributes.get("ContentBasedDeduplication") != "true":
            raise _SQSError(
                "InvalidParameterValue",
                "The queue should either have ContentBasedDeduplication enabled or "
                "MessageDeduplicationId provided explicitly",
            )
        dedup = hashlib.sha256(body.encode("utf-8")).hexdigest()
    return str(group), str(dedup)


def _select_attributes(attrs: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """Message attributes matching MessageAttributeNames (``All``, ``.*``, ``prefix.*``)."""
    wanted = list(names)
    if "All" in wanted or ".*" in wanted:
        return dict(attrs)
    prefixes = tuple(n[:-1] for n in wanted if n.endswith(".*"))
    return {
        name: value
        for name, value in attrs.items()
        if name in wanted or (prefixes and name.startswith(prefixes))
    }


def _system_attributes(msg: _Message, *, fifo: bool) -> dict[str, str]:
    values: dict[str, str | None] = {
        "SenderId": msg.sender_id,
        "SentTimestamp": str(int(msg.sent_at * 1000)),
        "ApproximateReceiveCount": str(msg.receive_count),
        "ApproximateFirstReceiveTimestamp": str(int((msg.first_receive_at or 0) * 1000)),
        "SequenceNumber": msg.sequence_number,
        "MessageDeduplicationId": msg.dedup_id if fifo else None,
        "MessageGroupId": msg.group_id,
        "AWSTraceHeader": msg.trace_header,
        "DeadLetterQueueSourceArn": msg.dlq_source_arn,
    }
    return {k: v for k, v in values.items() if v is not None}


def _render(
    msg: _Message, system_names: set[str], attribute_names: Iterable[str], *, fifo: bool
) -> dict[str, Any]:
    """A received message in boto3's shape, with only the requested attributes."""
    out: dict[str, Any] = {
        "MessageId": msg.message_id,
        "ReceiptHandle": msg.receipt_handle,
        "MD5OfBody": msg.md5_body,
        "Body": msg.body,
    }
    available = _system_attributes(msg, fifo=fifo)
    wanted = available if "All" in system_names else {k: v for k, v in available.items() if k in system_names}
    if wanted:
        out["Attributes"] = wanted
    selected = _select_attributes(msg.attributes, attribute_names)
    if selected:
        out["MD5OfMessageAttributes"] = md5_of_message_attributes(selected)
        out["MessageAttributes"] = {k: dict(v) for k, v in selected.items()}
    return out

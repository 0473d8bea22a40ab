# ruff: noqa: N803
# (boto3's keyword arguments are CamelCase; the fake must accept the same names.)
"""In-memory fake of the boto3 SQS client, for fast offline unit tests.

Why a fake beside moto: tests of the runtimes need *control* (a manual clock that long
polls skip through, request counting, failure injection) and speed, while still getting
the semantics a consumer depends on. Its scope is exactly what taskworker's runtimes,
producer and users' tests call, and ``tests/testing`` checks each part against moto:

* queues: ``create_queue`` (``VisibilityTimeout``, ``DelaySeconds``, ``RedrivePolicy``,
  ``FifoQueue``, ``ContentBasedDeduplication``; others are stored), ``get_queue_url``,
  ``get_queue_attributes`` (the stored ones, ``QueueArn`` and the three message counts);
* messages: ``send_message(_batch)`` with attributes and their MD5, ``DelaySeconds``,
  FIFO groups and deduplication; ``receive_message`` with visibility timeouts, receive
  counts, system and message attribute selection, long polling; ``delete_message(_batch)``,
  ``change_message_visibility(_batch)``, with SQS's per-entry results and stale-handle rules;
* redrive to the DLQ after ``maxReceiveCount`` receives, as SQS does on the next receive.

Errors are the ``ClientError`` subclasses a real client raises (``client.exceptions``),
with SQS's legacy query codes in ``Error.Code``. Anything else (list, purge, delete queues,
retention, policies, tags) is not here: test it against moto. Deliberate deviations:
short polls see every available message, standard queues deliver in order and once per
visibility window, and a delete with a stale receipt handle succeeds without deleting
(SQS: "might not be deleted"), so callers relying on stale handles see the redelivery.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import json
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

__all__ = ["FakeSQS", "ManualClock", "md5_of_message_attributes"]

Response = dict[str, Any]
Clock = Callable[[], float]
MAX_BATCH_ENTRIES = 10
FIFO_DEDUP_WINDOW = 300.0
_LEGACY_CODES = {
    "QueueDoesNotExist": "AWS.SimpleQueueService.NonExistentQueue",
    "BatchEntryIdsNotDistinct": "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
    "TooManyEntriesInBatchRequest": "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
    "EmptyBatchRequest": "AWS.SimpleQueueService.EmptyBatchRequest",
}
_SHAPES = {legacy: shape for shape, legacy in _LEGACY_CODES.items()}
_SERVER_FAULTS = {"InternalError", "InternalFailure", "ServiceUnavailable"}


class ManualClock:
    """A clock that only moves when told to; pass it as ``FakeSQS(clock=...)``.

    Returns epoch seconds (SentTimestamp and friends are derived from it). Thread-safe,
    so a test thread may advance it while a worker thread runs.
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


def md5_of_message_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> str:
    """MD5 of message attributes exactly as SQS computes it (SDKs verify it).

    Per attribute, in name order: 4-byte big-endian length + UTF-8 name, length + data
    type, a transport byte (1 string/number, 2 binary), then length + value bytes.
    """
    buf = bytearray()
    for name in sorted(attributes):
        attr = attributes[name]
        data_type = str(attr["DataType"])
        buf += _length_prefixed(name.encode()) + _length_prefixed(data_type.encode())
        if data_type.startswith("Binary"):
            value = attr["BinaryValue"]
            buf += b"\x02" + _length_prefixed(value.encode() if isinstance(value, str) else bytes(value))
        else:
            buf += b"\x01" + _length_prefixed(str(attr["StringValue"]).encode())
    return hashlib.md5(bytes(buf)).hexdigest()


def _length_prefixed(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


# ----------------------------------------------------------------------------- errors


@functools.cache
def _exception_classes() -> Any:
    """botocore's generated SQS exception classes, so ``except sqs.exceptions.X`` works."""
    import botocore.session
    from botocore.errorfactory import ClientExceptionsFactory

    model = botocore.session.get_session().get_service_model("sqs")
    return ClientExceptionsFactory().create_client_exceptions(model)


class _SQSError(Exception):
    """Internal: a failure to raise as ClientError, or to report as a batch entry."""

    def __init__(self, code: str, message: str, sender_fault: bool = True) -> None:
        super().__init__(message)
        self.code = _SHAPES.get(code, code)  # a legacy query code names the same error
        self.message, self.sender_fault = message, sender_fault

    def client_error(self, operation: str) -> ClientError:
        server = self.code in _SERVER_FAULTS or not self.sender_fault
        response: Any = {
            "Error": {
                "Code": _LEGACY_CODES.get(self.code, self.code),
                "Message": self.message,
                "Type": "Receiver" if server else "Sender",
                "QueryErrorCode": self.code,
            },
            "ResponseMetadata": {"RequestId": str(uuid.uuid4()), "HTTPStatusCode": 500 if server else 400},
        }
        cls: type[ClientError] = _exception_classes().from_code(self.code)
        return cls(response, operation)

    def batch_entry(self, entry_id: str) -> dict[str, Any]:
        code = _LEGACY_CODES.get(self.code, self.code)
        return {"Id": entry_id, "SenderFault": self.sender_fault, "Code": code, "Message": self.message}


def _invalid(message: str) -> _SQSError:
    return _SQSError("InvalidParameterValue", message)


# ------------------------------------------------------------------- failure injection


@dataclass
class _Injection:
    code: str
    message: str
    sender_fault: bool
    remaining: int
    entries: set[str] | None


class FailureInjector:
    """Pending injected failures per operation: whole calls are consumed one per call;
    entry failures once per listed batch entry id, so exactly ``id1`` can fail once."""

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
        wanted = set(entries) if entries is not None else None
        injection = _Injection(code, message or f"Injected failure ({code})", sender_fault, count, wanted)
        self._pending.setdefault(operation, []).append(injection)

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


class InjectsFailures:
    """``fail_next`` / ``clear_failures`` for a fake, over its :class:`FailureInjector`."""

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

        Without ``entries`` the next ``count`` calls raise ``ClientError(code)`` before doing
        anything. With ``entries`` (batch operations only) each listed batch entry id fails
        once -- reported in ``Failed`` with ``SenderFault=sender_fault`` and not performed --
        while the other entries of the batch succeed.
        """
        with self._lock:
            self._injector.add(
                operation, count=count, entries=entries, code=code, message=message, sender_fault=sender_fault
            )

    def clear_failures(self) -> None:
        """Forget all pending injected failures."""
        with self._lock:
            self._injector.clear()


# ------------------------------------------------------------------------ queue state


@dataclass
class _Message:
    message_id: str
    body: str
    attributes: dict[str, Any]
    sent_at: float
    visible_at: float
    group_id: str | None = None
    dedup_id: str | None = None
    sequence_number: str | None = None
    receive_count: int = 0
    first_receive_at: float | None = None
    receipt_handle: str | None = None
    dlq_source_arn: str | None = None

    def in_flight(self, now: float) -> bool:
        return self.receipt_handle is not None and now < self.visible_at

    def available(self, now: float) -> bool:
        return now >= self.visible_at


@dataclass
class _Queue:
    name: str
    url: str
    arn: str
    attributes: dict[str, str]
    messages: dict[str, _Message] = field(default_factory=dict)
    dedup: dict[str, tuple[float, str, str | None]] = field(default_factory=dict)

    @property
    def fifo(self) -> bool:
        return self.name.endswith(".fifo")

    def redrive(self) -> tuple[str, int] | None:
        """(dead-letter target ARN, maxReceiveCount) if a redrive policy is set."""
        raw = self.attributes.get("RedrivePolicy")
        if not raw:
            return None
        policy = json.loads(raw)
        return str(policy["deadLetterTargetArn"]), int(policy["maxReceiveCount"])

    def counts(self, now: float) -> dict[str, str]:
        visible = sum(1 for m in self.messages.values() if m.available(now))
        in_flight = sum(1 for m in self.messages.values() if m.in_flight(now))
        return {
            "ApproximateNumberOfMessages": str(visible),
            "ApproximateNumberOfMessagesNotVisible": str(in_flight),
            "ApproximateNumberOfMessagesDelayed": str(len(self.messages) - visible - in_flight),
        }


_OPERATIONS = frozenset(
    {
        "CreateQueue",
        "GetQueueUrl",
        "GetQueueAttributes",
        "SendMessage",
        "SendMessageBatch",
        "ReceiveMessage",
        "DeleteMessage",
        "DeleteMessageBatch",
        "ChangeMessageVisibility",
        "ChangeMessageVisibilityBatch",
    }
)
_BATCH_OPERATIONS = frozenset({"SendMessageBatch", "DeleteMessageBatch", "ChangeMessageVisibilityBatch"})


class FakeSQS(InjectsFailures):
    """Thread-safe in-memory stand-in for ``boto3.client("sqs")``.

    Extras beyond boto3: ``calls`` (a Counter of operation names, one per request,
    failed ones included), ``fail_next(...)``, ``queue_arn(url)`` (no request counted) and
    ``clock``. With a :class:`ManualClock` a long poll does not block: it advances the
    clock to when a message becomes receivable or the wait ends.
    """

    def __init__(
        self, *, clock: Clock | None = None, region: str = "us-east-1", account_id: str = "123456789012"
    ) -> None:
        self._clock: Clock = clock or time.time
        self.region = region
        self.account_id = account_id
        self.calls: Counter[str] = Counter()
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._queues: dict[str, _Queue] = {}
        self._sequence = 0
        self._injector = FailureInjector(_OPERATIONS, _BATCH_OPERATIONS)

    @property
    def clock(self) -> Clock:
        """The clock driving visibility, delays and timestamps."""
        return self._clock

    @property
    def exceptions(self) -> Any:
        """SQS exception classes, as on a real client (``fake.exceptions.QueueDoesNotExist``)."""
        return _exception_classes()

    def queue_arn(self, queue_url: str) -> str:
        """ARN of a queue, without counting a request (handy in test setup)."""
        with self._lock:
            try:
                return self._queue(queue_url).arn
            except _SQSError as failure:
                raise failure.client_error("GetQueueAttributes") from None

    @contextlib.contextmanager
    def _api(self, operation: str) -> Iterator[None]:
        """Hold the lock for one request, count it, and map internal failures to ClientError."""
        with self._cond:
            try:
                self.calls[operation] += 1
                injected = self._injector.take_call(operation)
                if injected is not None:
                    raise _SQSError(injected.code, injected.message, injected.sender_fault)
                yield
            except _SQSError as failure:
                raise failure.client_error(operation) from None

    def _queue(self, url: object) -> _Queue:
        """Resolve a queue URL by its last path part (any host, as real clients allow)."""
        parts = urlparse(str(url)).path.strip("/").split("/")
        queue = self._queues.get(parts[-1]) if len(parts) == 2 and parts[0] == self.account_id else None
        if queue is None:
            raise _SQSError("QueueDoesNotExist", "The specified queue does not exist.")
        return queue

    # ------------------------------------------------------------------- queues

    def create_queue(
        self, *, QueueName: str, Attributes: Mapping[str, str] | None = None, tags: Any = None
    ) -> Response:
        """Create a queue, or return the URL of an existing one (idempotent)."""
        with self._api("CreateQueue"):
            attributes = {"VisibilityTimeout": "30", "DelaySeconds": "0", **dict(Attributes or {})}
            fifo = attributes.pop("FifoQueue", "false").lower() == "true"
            if fifo != QueueName.endswith(".fifo"):
                raise _invalid("The name of a FIFO queue must end with .fifo, and only FIFO queues may.")
            if fifo:
                attributes["FifoQueue"] = "true"
                attributes.setdefault("ContentBasedDeduplication", "false")
            if "RedrivePolicy" in attributes:
                attributes["RedrivePolicy"] = self._checked_redrive(attributes["RedrivePolicy"], fifo)
            if QueueName not in self._queues:
                url = f"https://sqs.{self.region}.amazonaws.com/{self.account_id}/{QueueName}"
                arn = f"arn:aws:sqs:{self.region}:{self.account_id}:{QueueName}"
                self._queues[QueueName] = _Queue(QueueName, url, arn, attributes)
            return _ok({"QueueUrl": self._queues[QueueName].url})

    def _checked_redrive(self, raw: str, fifo: bool) -> str:
        policy = json.loads(raw)
        target = self._by_arn(str(policy.get("deadLetterTargetArn")))
        if target is None or target.fifo != fifo:
            raise _invalid(
                "Value for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist."
            )
        return json.dumps(
            {"deadLetterTargetArn": target.arn, "maxReceiveCount": int(policy["maxReceiveCount"])}
        )

    def _by_arn(self, arn: str) -> _Queue | None:
        queue = self._queues.get(arn.rsplit(":", 1)[-1])
        return queue if queue is not None and queue.arn == arn else None

    def get_queue_url(self, *, QueueName: str, QueueOwnerAWSAccountId: str | None = None) -> Response:
        with self._api("GetQueueUrl"):
            queue = self._queues.get(QueueName)
            if queue is None or (QueueOwnerAWSAccountId or self.account_id) != self.account_id:
                raise _SQSError("QueueDoesNotExist", "The specified queue does not exist.")
            return _ok({"QueueUrl": queue.url})

    def get_queue_attributes(self, *, QueueUrl: str, AttributeNames: Sequence[str] | None = None) -> Response:
        """The requested attributes as strings (``All`` for every one)."""
        with self._api("GetQueueAttributes"):
            queue = self._queue(QueueUrl)
            available = {**queue.attributes, "QueueArn": queue.arn, **queue.counts(self._clock())}
            names = list(AttributeNames or [])
            unknown = [
                n for n in names if n != "All" and n not in available and n not in _OPTIONAL_ATTRIBUTES
            ]
            if unknown:
                raise _SQSError("InvalidAttributeName", f"Unknown Attribute {unknown[0]}.")
            selected = available if "All" in names else {n: available[n] for n in names if n in available}
            return _ok({"Attributes": selected} if selected else {})

    # ------------------------------------------------------------------ sending

    def send_message(
        self,
        *,
        QueueUrl: str,
        MessageBody: str,
        DelaySeconds: int | None = None,
        MessageAttributes: Mapping[str, Mapping[str, Any]] | None = None,
        MessageDeduplicationId: str | None = None,
        MessageGroupId: str | None = None,
    ) -> Response:
        entry = {
            "MessageBody": MessageBody,
            "DelaySeconds": DelaySeconds,
            "MessageAttributes": MessageAttributes,
            "MessageDeduplicationId": MessageDeduplicationId,
            "MessageGroupId": MessageGroupId,
        }
        with self._api("SendMessage"):
            return _ok(self._send_one(self._queue(QueueUrl), entry))

    def send_message_batch(self, *, QueueUrl: str, Entries: Sequence[Mapping[str, Any]]) -> Response:
        """Send up to 10 messages; invalid entries fail individually in ``Failed``."""
        with self._api("SendMessageBatch"):
            queue = self._queue(QueueUrl)
            return _ok(self._run_batch("SendMessageBatch", Entries, lambda e: self._send_one(queue, e)))

    def _send_one(self, queue: _Queue, entry: Mapping[str, Any]) -> dict[str, Any]:
        now = self._clock()
        body = entry.get("MessageBody")
        if not isinstance(body, str) or not body:
            raise _SQSError("MissingParameter", "The request must contain the parameter MessageBody.")
        attributes = {
            name: _attribute(name, value) for name, value in (entry.get("MessageAttributes") or {}).items()
        }
        result: dict[str, Any] = {"MD5OfMessageBody": hashlib.md5(body.encode()).hexdigest()}
        if attributes:
            result["MD5OfMessageAttributes"] = md5_of_message_attributes(attributes)
        delay = entry.get("DelaySeconds")
        group, dedup = entry.get("MessageGroupId"), entry.get("MessageDeduplicationId")
        if queue.fifo:
            if delay is not None:
                raise _invalid("The request include parameter that is not valid for this queue type.")
            dedup = self._fifo_dedup(queue, body, group, dedup)
            if dedup in queue.dedup and queue.dedup[dedup][0] > now:
                _, message_id, sequence = queue.dedup[dedup]
                return {**result, "MessageId": message_id, "SequenceNumber": sequence}
        elif dedup is not None:
            raise _invalid("The request include parameter that is not valid for this queue type.")
        seconds = int(queue.attributes["DelaySeconds"] if delay is None else delay)
        if not 0 <= seconds <= 900:
            raise _invalid(f"Value {seconds} for parameter DelaySeconds is invalid.")
        message = _Message(str(uuid.uuid4()), body, attributes, now, now + seconds, group, dedup)
        if queue.fifo:
            self._sequence += 1
            message.sequence_number = str(18_000_000_000_000_000_000 + self._sequence * 1000)
            queue.dedup[str(dedup)] = (now + FIFO_DEDUP_WINDOW, message.message_id, message.sequence_number)
            result["SequenceNumber"] = message.sequence_number
        queue.messages[message.message_id] = message
        self._cond.notify_all()
        return {**result, "MessageId": message.message_id}

    @staticmethod
    def _fifo_dedup(queue: _Queue, body: str, group: object, dedup: object) -> str:
        if not group:
            raise _SQSError("MissingParameter", "The request must contain the parameter MessageGroupId.")
        if dedup is not None:
            return str(dedup)
        if queue.attributes.get("ContentBasedDeduplication") != "true":
            raise _invalid(
                "The queue should either have ContentBasedDeduplication enabled or "
                "MessageDeduplicationId provided explicitly"
            )
        return hashlib.sha256(body.encode()).hexdigest()

    def _run_batch(
        self, operation: str, entries: Sequence[Mapping[str, Any]], action: Callable[[Mapping[str, Any]], Any]
    ) -> Response:
        """Apply ``action`` per entry, collecting Successful / Failed like SQS batch APIs."""
        _check_batch(entries)
        successful: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for entry in entries:
            entry_id = str(entry["Id"])
            try:
                injected = self._injector.take_entry(operation, entry_id)
                if injected is not None:
                    raise _SQSError(injected.code, injected.message, injected.sender_fault)
                successful.append({"Id": entry_id, **(action(entry) or {})})
            except _SQSError as failure:
                failed.append(failure.batch_entry(entry_id))
        return {"Successful": successful, "Failed": failed}

    # ---------------------------------------------------------------- receiving

    def receive_message(
        self,
        *,
        QueueUrl: str,
        AttributeNames: Sequence[str] = (),
        MessageSystemAttributeNames: Sequence[str] = (),
        MessageAttributeNames: Sequence[str] = (),
        MaxNumberOfMessages: int = 1,
        VisibilityTimeout: int | None = None,
        WaitTimeSeconds: int = 0,
        ReceiveRequestAttemptId: str | None = None,
    ) -> Response:
        """Receive up to MaxNumberOfMessages, long polling for WaitTimeSeconds if none is ready."""
        with self._api("ReceiveMessage"):
            queue = self._queue(QueueUrl)
            if not 1 <= MaxNumberOfMessages <= MAX_BATCH_ENTRIES:
                raise _invalid(f"Value {MaxNumberOfMessages} for parameter MaxNumberOfMessages is invalid.")
            visibility = int(
                queue.attributes["VisibilityTimeout"] if VisibilityTimeout is None else VisibilityTimeout
            )
            messages = self._poll(QueueUrl, MaxNumberOfMessages, visibility, WaitTimeSeconds)
            system = {*AttributeNames, *MessageSystemAttributeNames}
            rendered = [_render(m, system, MessageAttributeNames, queue.fifo) for m in messages]
            return _ok({"Messages": rendered} if rendered else {})

    def _poll(self, url: str, count: int, visibility: int, wait: float) -> list[_Message]:
        """Take messages now, or wait (clock-driven) until some are receivable or time is up."""
        clock_deadline = self._clock() + wait
        real_deadline = time.monotonic() + wait
        while True:
            queue = self._queue(url)
            now = self._clock()
            taken = self._take(queue, count, visibility, now)
            if taken or now >= clock_deadline:
                return taken
            upcoming = [m.visible_at for m in queue.messages.values() if m.visible_at > now]
            wake = min([clock_deadline, *upcoming])
            if isinstance(self._clock, ManualClock):
                self._clock.advance(wake - now)
                continue
            real_left = real_deadline - time.monotonic()
            if real_left <= 0:
                return []
            self._cond.wait(min(wake - now, real_left))

    def _take(self, queue: _Queue, count: int, visibility: int, now: float) -> list[_Message]:
        """Receivable messages in order; FIFO: nothing overtakes a group's hidden head."""
        taken: list[_Message] = []
        blocked: set[str | None] = set()
        for message in list(queue.messages.values()):
            if len(taken) >= count:
                break
            if queue.fifo and message.group_id in blocked:
                continue
            if not message.available(now):
                blocked.add(message.group_id)
                continue
            if self._dead_letter(queue, message, now):
                continue
            message.receive_count += 1
            message.first_receive_at = message.first_receive_at or now
            message.visible_at = now + visibility
            message.receipt_handle = _handle(queue.arn, message.message_id)
            taken.append(message)  # FIFO: one receive may take several of a group, in order
        return taken

    def _dead_letter(self, queue: _Queue, message: _Message, now: float) -> bool:
        """Move ``message`` to the DLQ if it was already received maxReceiveCount times."""
        redrive = queue.redrive()
        if redrive is None or message.receive_count < redrive[1]:
            return False
        target = self._by_arn(redrive[0])
        if target is None:
            return False
        del queue.messages[message.message_id]
        moved = replace(message, receipt_handle=None, visible_at=now, dlq_source_arn=queue.arn)
        target.messages[message.message_id] = moved
        return True

    # --------------------------------------------------- deleting and visibility

    def delete_message(self, *, QueueUrl: str, ReceiptHandle: str) -> Response:
        with self._api("DeleteMessage"):
            self._delete(self._queue(QueueUrl), ReceiptHandle)
            return _ok()

    def delete_message_batch(self, *, QueueUrl: str, Entries: Sequence[Mapping[str, Any]]) -> Response:
        with self._api("DeleteMessageBatch"):
            queue = self._queue(QueueUrl)
            return _ok(
                self._run_batch(
                    "DeleteMessageBatch", Entries, lambda e: self._delete(queue, e.get("ReceiptHandle"))
                )
            )

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

            def change(entry: Mapping[str, Any]) -> None:
                self._change_visibility(queue, entry.get("ReceiptHandle"), entry.get("VisibilityTimeout", 0))

            return _ok(self._run_batch("ChangeMessageVisibilityBatch", Entries, change))

    def _lookup(self, queue: _Queue, handle: object) -> tuple[_Message | None, bool]:
        """(message or None if gone, whether ``handle`` is its latest receipt handle)."""
        parsed = _parse_handle(handle)
        if parsed is None or parsed[0] != queue.arn:
            raise _SQSError(
                "ReceiptHandleIsInvalid",
                f'The input receipt handle "{handle}" is not a valid receipt handle.',
            )
        message = queue.messages.get(parsed[1])
        return message, message is not None and message.receipt_handle == handle

    def _delete(self, queue: _Queue, handle: object) -> None:
        """Delete by the latest handle; a gone or stale handle succeeds without effect."""
        message, current = self._lookup(queue, handle)
        if message is None or not current:
            return
        if queue.fifo and not message.in_flight(self._clock()):
            raise _invalid(
                f"Value {handle} for parameter ReceiptHandle is invalid. "
                "Reason: The receipt handle has expired."
            )
        del queue.messages[message.message_id]
        self._cond.notify_all()

    def _change_visibility(self, queue: _Queue, handle: object, timeout: object) -> None:
        """Restart an in-flight message's visibility timeout from now (0: visible at once).

        A stale handle (received again since, or deleted) is refused, as SQS does; with the
        latest handle of a message whose timeout already lapsed SQS answers OK and leaves
        it visible.
        """
        message, current = self._lookup(queue, handle)
        if message is None or not current:
            raise _invalid(
                f"Value {handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist "
                "or is not available for visibility timeout change."
            )
        seconds = int(str(timeout))
        if not 0 <= seconds <= 43_200:
            raise _invalid(f"Value {seconds} for parameter VisibilityTimeout is invalid.")
        now = self._clock()
        if message.in_flight(now):
            message.visible_at = now + seconds
            self._cond.notify_all()


# ------------------------------------------------------------------------ helpers

_OPTIONAL_ATTRIBUTES = frozenset(
    {
        "RedrivePolicy",
        "ContentBasedDeduplication",
        "FifoQueue",
        "MaximumMessageSize",
        "MessageRetentionPeriod",
    }
)
_HANDLE_PREFIX = "fake-rh1"


def _ok(payload: Mapping[str, Any] | None = None) -> Response:
    return {**(payload or {}), "ResponseMetadata": {"RequestId": str(uuid.uuid4()), "HTTPStatusCode": 200}}


def _check_batch(entries: Sequence[Mapping[str, Any]]) -> None:
    if not entries:
        raise _SQSError("EmptyBatchRequest", "There should be at least one entry in the request.")
    if len(entries) > MAX_BATCH_ENTRIES:
        raise _SQSError(
            "TooManyEntriesInBatchRequest", f"Maximum number of entries per request are {MAX_BATCH_ENTRIES}."
        )
    ids = [str(e.get("Id", "")) for e in entries]
    if len(set(ids)) != len(ids):
        raise _SQSError(
            "BatchEntryIdsNotDistinct", "Two or more batch entries in the request have the same Id."
        )


def _attribute(name: str, value: Mapping[str, Any]) -> dict[str, Any]:
    """One message attribute in boto3's response shape, refusing what SQS refuses."""
    data_type = str(value.get("DataType", ""))
    base = data_type.split(".", 1)[0]
    if base == "Binary" and value.get("BinaryValue"):
        raw = value["BinaryValue"]
        return {"DataType": data_type, "BinaryValue": raw.encode() if isinstance(raw, str) else bytes(raw)}
    if base in ("String", "Number") and value.get("StringValue"):
        return {"DataType": data_type, "StringValue": str(value["StringValue"])}
    raise _invalid(
        f"The message attribute '{name}' must have a DataType of String, Number or Binary and a value."
    )


def _handle(queue_arn: str, message_id: str) -> str:
    raw = f"{_HANDLE_PREFIX}|{queue_arn}|{message_id}|{uuid.uuid4().hex}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _parse_handle(handle: object) -> tuple[str, str] | None:
    """(queue ARN, message id) encoded in one of our receipt handles, or None if garbage."""
    try:
        parts = base64.urlsafe_b64decode(str(handle).encode()).decode().split("|")
    except ValueError:
        return None
    return (parts[1], parts[2]) if len(parts) == 4 and parts[0] == _HANDLE_PREFIX else None


def _render(
    message: _Message, system: set[str], attribute_names: Iterable[str], fifo: bool
) -> dict[str, Any]:
    """A received message in boto3's shape, with only the requested attributes."""
    out: dict[str, Any] = {
        "MessageId": message.message_id,
        "ReceiptHandle": message.receipt_handle,
        "MD5OfBody": hashlib.md5(message.body.encode()).hexdigest(),
        "Body": message.body,
    }
    values = {
        "SenderId": "AIDAFAKESQSSENDER0000",
        "SentTimestamp": str(int(message.sent_at * 1000)),
        "ApproximateReceiveCount": str(message.receive_count),
        "ApproximateFirstReceiveTimestamp": str(int((message.first_receive_at or 0) * 1000)),
        "SequenceNumber": message.sequence_number,
        "MessageDeduplicationId": message.dedup_id if fifo else None,
        "MessageGroupId": message.group_id,
        "DeadLetterQueueSourceArn": message.dlq_source_arn,
    }
    wanted = {k: v for k, v in values.items() if v is not None and ("All" in system or k in system)}
    if wanted:
        out["Attributes"] = wanted
    names = list(attribute_names)
    selected = {
        k: dict(v)
        for k, v in message.attributes.items()
        if "All" in names
        or ".*" in names
        or k in names
        or any(n.endswith(".*") and k.startswith(n[:-1]) for n in names)
    }
    if selected:
        out["MD5OfMessageAttributes"] = md5_of_message_attributes(selected)
        out["MessageAttributes"] = selected
    return out

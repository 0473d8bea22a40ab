"""One helper for every batched AWS call: chunk, send, retry what may succeed, report the rest.

SendMessageBatch, DeleteMessageBatch, ChangeMessageVisibilityBatch, PublishBatch and
BatchWriteItem share one shape: up to N entries per request, a byte limit per request,
and an answer per entry. :func:`call_batch` is the only place that sends them, so every
caller gets the same rules:

- chunks respect both limits of the operation (count and bytes);
- a *sender fault* (an entry the service refused, or a whole request refused with a 4xx
  that is not throttling, such as NonExistentQueue or AccessDenied) is final at once and
  never retried;
- a whole request refused as too long (``BatchRequestTooLong``, HTTP 413) is split in
  halves, so one large entry does not fail its neighbours;
- everything else (entry failures of the service's fault, throttling, 5xx, connection
  errors, an entry neither acknowledged nor refused, DynamoDB's UnprocessedItems) is
  retried with full-jitter exponential backoff, within a number of attempts *and* a
  total time budget: the policy's, cut by an enclosing :func:`time_budget` (the Lambda
  runtime wraps its invocation and its settlement in one with the time it has left).
  Once an enclosing budget is spent, no request is started at all: every item fails
  with ``BudgetExhausted`` (and :func:`retry_call` raises :class:`BudgetExhaustedError`).

The result says, per caller item, whether it succeeded (with the service's answer, e.g.
the MessageId) or failed, with the code, message and sender-fault flag of the last
answer. Callers decide what a failure means for their items; nothing here logs.
"""

from __future__ import annotations

import contextvars
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

from taskworker.messages import typed_message_size

T = TypeVar("T")
Entry = dict[str, Any]

TOO_LONG_CODES = frozenset({"AWS.SimpleQueueService.BatchRequestTooLong", "BatchRequestTooLong"})
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "SlowDown",
        "KMSThrottlingException",
        "AWS.SimpleQueueService.RequestThrottled",
    }
)
NOT_ACKNOWLEDGED = "NotAcknowledged"
BUDGET_EXHAUSTED = "BudgetExhausted"


@dataclass(frozen=True, slots=True)
class EntryError:
    """Why an entry failed, as the service (or the transport) said it."""

    code: str
    message: str
    sender_fault: bool = False

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.message else self.code


NOT_SENT = EntryError(NOT_ACKNOWLEDGED, "not sent yet")


@dataclass(slots=True)
class BatchResult(Generic[T]):
    """Per caller item: succeeded (with the service's answer for it) or failed (with why)."""

    succeeded: list[tuple[T, Mapping[str, Any]]] = field(default_factory=list)
    failed: list[tuple[T, EntryError]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def failed_items(self) -> list[T]:
        return [item for item, _ in self.failed]

    def codes(self) -> list[str]:
        """The distinct error codes of the failures, for one log line."""
        return sorted({error.code for _, error in self.failed})


@dataclass(frozen=True, slots=True)
class Operation:
    """One batched API: its method, where entries go, and its two limits."""

    name: str
    method: str
    target_key: str
    entries_key: str | None
    """``None`` for BatchWriteItem, whose entries sit under ``RequestItems[table]``."""
    max_entries: int
    max_bytes: int
    size: Callable[[Entry], int]


def sqs_message_bytes(entry: Mapping[str, Any]) -> int:
    """What SQS counts for one SendMessage entry: body plus attribute names, types, values."""
    return typed_message_size(str(entry.get("MessageBody", "")), entry.get("MessageAttributes", {}))


def sns_message_bytes(entry: Mapping[str, Any]) -> int:
    """What SNS counts for one PublishBatch entry."""
    return typed_message_size(str(entry.get("Message", "")), entry.get("MessageAttributes", {}))


def _item_bytes(entry: Mapping[str, Any]) -> int:
    return len(json.dumps(entry, default=str).encode())


def _no_bytes(entry: Mapping[str, Any]) -> int:
    return 0  # receipt handles: ten never come near a request's byte limit


MIB = 1_048_576
SEND_MESSAGES = Operation(
    "SendMessageBatch", "send_message_batch", "QueueUrl", "Entries", 10, MIB, sqs_message_bytes
)
DELETE_MESSAGES = Operation(
    "DeleteMessageBatch", "delete_message_batch", "QueueUrl", "Entries", 10, MIB, _no_bytes
)
CHANGE_VISIBILITY = Operation(
    "ChangeMessageVisibilityBatch",
    "change_message_visibility_batch",
    "QueueUrl",
    "Entries",
    10,
    MIB,
    _no_bytes,
)
PUBLISH = Operation(
    "PublishBatch", "publish_batch", "TopicArn", "PublishBatchRequestEntries", 10, 262_144, sns_message_bytes
)
WRITE_ITEMS = Operation("BatchWriteItem", "batch_write_item", "RequestItems", None, 25, 16 * MIB, _item_bytes)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to keep trying: ``attempts`` rounds within ``budget`` seconds in total.

    Pauses are full-jitter exponential (``random() * min(cap, base * 2**n)``); ``sleep``,
    ``clock`` and ``random`` are injectable so tests need no real time.
    """

    attempts: int = 5
    budget: float = 10.0
    base: float = 0.05
    cap: float = 2.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    random: Callable[[], float] = random.random

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.budget < 0:
            raise ValueError("a RetryPolicy needs at least one attempt and a budget of 0 s or more")

    def within(self, seconds: float | None) -> RetryPolicy:
        """The same policy with a budget no larger than ``seconds`` (``None``: unchanged)."""
        return self if seconds is None else replace(self, budget=max(0.0, min(self.budget, seconds)))

    def pause(self, attempt: int) -> float:
        return self.random() * min(self.cap, self.base * 2.0 ** (attempt - 1))


DEFAULT_POLICY = RetryPolicy()

_scope_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("batch_deadline", default=None)


def time_budget(seconds: float) -> AbstractContextManager[None]:
    """Every batched call made inside ends within ``seconds`` from now, retries included.

    The Lambda runtime wraps its settlement in this with the time the invocation has
    left, so no policy deep in the middleware can outlive the function's deadline.
    Nested budgets only ever shorten.
    """
    return _TimeBudget(seconds)


class _TimeBudget:
    """:func:`time_budget` as a plain context manager: entered twice per Lambda invocation,
    where a generator-based one costs a microsecond more each time."""

    __slots__ = ("_seconds", "_token")

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds

    def __enter__(self) -> None:
        deadline = time.monotonic() + max(0.0, self._seconds)
        outer = _scope_deadline.get()
        self._token = _scope_deadline.set(deadline if outer is None else min(outer, deadline))

    def __exit__(self, *exc_info: object) -> None:
        _scope_deadline.reset(self._token)


def _budget(policy: RetryPolicy) -> float | None:
    """The policy's budget, cut to what an enclosing :func:`time_budget` leaves; ``None``
    when that enclosing budget is spent, so not even a first attempt may start."""
    scope = _scope_deadline.get()
    if scope is None:
        return policy.budget
    left = scope - time.monotonic()
    return None if left <= 0 else min(policy.budget, left)


class BudgetExhaustedError(TimeoutError):
    """:func:`retry_call` inside a spent :func:`time_budget`: the call was not attempted."""


@dataclass(slots=True)
class _Pending(Generic[T]):
    entry_id: str
    item: T
    entry: Entry
    error: EntryError = NOT_SENT


def call_batch(
    client: Any,
    operation: Operation,
    target: str,
    items: Sequence[T],
    entry: Callable[[T], Entry],
    *,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> BatchResult[T]:
    """Send ``entry(item)`` for every item through ``operation`` to ``target``; see the module.

    For the SQS and SNS operations the helper sets each entry's ``Id`` (the item's index);
    ``target`` is the queue URL, topic ARN or table name.
    """
    result: BatchResult[T] = BatchResult()
    pending = [
        _Pending(str(i), item, _with_id(operation, str(i), entry(item))) for i, item in enumerate(items)
    ]
    if _budget(policy) is None:
        pending = _expired(pending)
    for deadline in _rounds(policy):
        retry: list[_Pending[T]] = []
        for number, chunk in enumerate(_chunks(operation, pending)):
            if number and policy.clock() >= deadline:
                retry += _expired(chunk)
                continue
            retry += _send(client, operation, target, chunk, result)
        pending = retry
        if not pending:
            break
    result.failed += [(p.item, p.error) for p in pending]
    return result


def _with_id(operation: Operation, entry_id: str, entry: Entry) -> Entry:
    return entry if operation.entries_key is None else {**entry, "Id": entry_id}


def _expired(chunk: list[_Pending[T]]) -> list[_Pending[T]]:
    for p in chunk:
        p.error = EntryError(BUDGET_EXHAUSTED, f"not sent: the time budget ended (last: {p.error})")
    return chunk


def _chunks(operation: Operation, pending: Sequence[_Pending[T]]) -> list[list[_Pending[T]]]:
    """Groups within the operation's count and byte limits (an oversized entry goes alone)."""
    if operation.size is _no_bytes:  # receipt handles: count is the only limit
        return [
            list(pending[i : i + operation.max_entries])
            for i in range(0, len(pending), operation.max_entries)
        ]
    chunks: list[list[_Pending[T]]] = []
    current: list[_Pending[T]] = []
    size = 0
    for p in pending:
        entry_size = operation.size(p.entry)
        if current and (len(current) == operation.max_entries or size + entry_size > operation.max_bytes):
            chunks.append(current)
            current, size = [], 0
        current.append(p)
        size += entry_size
    if current:
        chunks.append(current)
    return chunks


def _send(
    client: Any, operation: Operation, target: str, chunk: list[_Pending[T]], result: BatchResult[T]
) -> list[_Pending[T]]:
    """One request; records successes and sender faults, returns what is worth retrying."""
    try:
        response = _request(client, operation, target, [p.entry for p in chunk])
    except Exception as exc:
        error, too_long = _request_error(exc)
        if too_long and len(chunk) > 1:
            half = len(chunk) // 2
            return _send(client, operation, target, chunk[:half], result) + _send(
                client, operation, target, chunk[half:], result
            )
        return _settle_all(chunk, error, result)
    if operation.entries_key is None:
        return _settle_unprocessed(chunk, response.get("UnprocessedItems", {}).get(target, []), result)
    return _settle_entries(chunk, response, result)


def _request(client: Any, operation: Operation, target: str, entries: list[Entry]) -> Mapping[str, Any]:
    method = getattr(client, operation.method)
    if operation.entries_key is None:
        response = method(RequestItems={target: entries})
    else:
        response = method(**{operation.target_key: target, operation.entries_key: entries})
    return response if isinstance(response, Mapping) else {}


def _settle_all(chunk: list[_Pending[T]], error: EntryError, result: BatchResult[T]) -> list[_Pending[T]]:
    if error.sender_fault:
        result.failed += [(p.item, error) for p in chunk]
        return []
    for p in chunk:
        p.error = error
    return chunk


def _settle_entries(
    chunk: list[_Pending[T]], response: Mapping[str, Any], result: BatchResult[T]
) -> list[_Pending[T]]:
    by_id = {p.entry_id: p for p in chunk}
    answered: set[str] = set()
    retry: list[_Pending[T]] = []
    for success in response.get("Successful", []):
        p = by_id.get(str(success.get("Id")))
        if p is not None and p.entry_id not in answered:
            answered.add(p.entry_id)
            result.succeeded.append((p.item, success))
    for failure in response.get("Failed", []):
        p = by_id.get(str(failure.get("Id")))
        if p is None or p.entry_id in answered:
            continue
        answered.add(p.entry_id)
        error = EntryError(
            str(failure.get("Code", "Error")),
            str(failure.get("Message", "")),
            bool(failure.get("SenderFault")),
        )
        if error.sender_fault:
            result.failed.append((p.item, error))
        else:
            p.error = error
            retry.append(p)
    for p in chunk:
        if p.entry_id not in answered:
            p.error = EntryError(NOT_ACKNOWLEDGED, "neither acknowledged nor refused by the service")
            retry.append(p)
    return retry


def _settle_unprocessed(
    chunk: list[_Pending[T]], unprocessed: Sequence[Mapping[str, Any]], result: BatchResult[T]
) -> list[_Pending[T]]:
    """BatchWriteItem answers only with what it did *not* write: match those back to items."""
    left = Counter(_canonical(request) for request in unprocessed)
    retry: list[_Pending[T]] = []
    for p in chunk:
        key = _canonical(p.entry)
        if left[key]:
            left[key] -= 1
            p.error = EntryError("UnprocessedItems", "DynamoDB did not process the item")
            retry.append(p)
        else:
            result.succeeded.append((p.item, {}))
    return retry


def _canonical(request: Mapping[str, Any]) -> str:
    return json.dumps(request, sort_keys=True, default=str)


def _request_error(exc: Exception) -> tuple[EntryError, bool]:
    """A whole request's failure as an entry error, and whether it means "too long, split me"."""
    response = getattr(exc, "response", None)
    if not isinstance(response, Mapping):  # connection errors, timeouts: worth another try
        return EntryError(type(exc).__name__, str(exc)), False
    details = response.get("Error", {}) or {}
    codes = {str(details.get("Code", "")), str(details.get("QueryErrorCode", ""))} - {""}
    status = int((response.get("ResponseMetadata", {}) or {}).get("HTTPStatusCode", 0) or 0)
    code = str(details.get("QueryErrorCode") or details.get("Code") or type(exc).__name__)
    message = str(details.get("Message", "")) or str(exc)
    too_long = bool(codes & TOO_LONG_CODES) or status == 413
    throttled = bool(codes & THROTTLING_CODES) or status == 429
    sender_fault = 400 <= status < 500 and not throttled
    return EntryError(code, message, sender_fault), too_long


def retry_call(call: Callable[[], T], *, policy: RetryPolicy = DEFAULT_POLICY) -> T:
    """One non-batched call under the same rules: sender faults at once, the rest retried.

    Raises the last exception when the attempts or the budget run out.
    """
    last: Exception = BudgetExhaustedError("not attempted: the enclosing time budget is spent")
    for _ in _rounds(policy):
        try:
            return call()
        except Exception as exc:
            if _request_error(exc)[0].sender_fault:
                raise
            last = exc
    raise last


def _rounds(policy: RetryPolicy) -> Iterator[float]:
    """Yields the deadline once per attempt, pausing in between; ends when the attempts
    run out or the next pause would end past the budget; yields nothing when an
    enclosing :func:`time_budget` is already spent."""
    budget = _budget(policy)
    if budget is None:
        return
    deadline = policy.clock() + budget
    for attempt in range(policy.attempts):
        if attempt:
            pause = policy.pause(attempt)
            if policy.clock() + pause >= deadline:
                return
            policy.sleep(pause)
        yield deadline

"""Idempotency: a redelivered task returns its stored result instead of running again.

The key is the task type plus the ``idempotency_key`` message attribute when a client set
one, else the SQS MessageId, hashed under a fixed ``key_prefix`` (``taskworker#<md5>``,
exactly as powertools' idempotency utility hashes it), so renaming or moving a handler does
not change keys and records written by earlier versions are still found. A client key is
scoped by the message's ``caller`` (the principal the API authenticated) when it has one:
tenants choose their keys freely, so one tenant's key must never find another's result.
Messages without a caller keep the keys they always had.

A key stands for one request: each record keeps a hash of the task's body (powertools'
``validation`` attribute), and a task that brings the same key with a different body is
refused for good (:class:`IdempotencyKeyReused`) rather than given another task's result.

An attempt first takes an *in-progress lock* on the key, runs the handler, and stores the
result. The rules that keep a lock from ever condemning a task:

1. **A lock lives as long as the attempt that holds it can.** In the container worker it
   lasts until the message's visibility ends, and the worker's heartbeat renews it with
   every visibility extension; in Lambda it ends with the invocation's deadline. An attempt
   that ends without a result deletes its lock; one that is killed leaves a lock that runs
   out when its message becomes visible again.
2. **An attempt recognises its own lock.** The lock records its *owner* (a hash of the
   receipt handle), and the conditional write lets the owner through, so a PutItem whose
   answer was lost, retried by botocore, is not taken for a duplicate.
3. **A live lock of another attempt means "later", never "failed".** The task is given
   back with its usual backoff (:class:`DuplicateInProgressError`), even on its last
   allowed receive: the holder may still finish and answer.
4. **A success is a success.** When the result cannot be stored, the handler's result is
   still returned (and published); the lock then runs out with the message's visibility.

powertools' utility cannot express rules 1-3 (it has no owner, no renewal, and deletes a
lock it may no longer hold), so this module writes the records itself with DynamoDB
conditional writes, in powertools' format (``id``, ``status``, ``expiration``,
``in_progress_expiration``, ``data``, ``validation``) plus an ``owner`` attribute.

This middleware must sit outside :class:`~taskworker.middleware.InProcessRetries`: the
series of in-process tries holds one lock and stores one result.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ValidationError

from taskworker.context import TaskCall
from taskworker.errors import PermanentError, RetryableError
from taskworker.middleware.base import HandlerCall, Middleware

if TYPE_CHECKING:
    from taskworker.handlers.heartbeat import Leases
    from taskworker.messages import TaskMessage
    from taskworker.registry import TaskDefinition

KEY_PREFIX = "taskworker"
"""Fixed on purpose: keys must survive refactors of the handler's module or name."""

DEFAULT_EXPIRES_AFTER_SECONDS = 3600
IN_PROGRESS = "INPROGRESS"
COMPLETED = "COMPLETED"
RENEW_EVERY_SECONDS = 10.0
"""The heartbeat beats at least this often while it renews locks."""


class DuplicateInProgressError(RetryableError):
    """Another attempt holds this task's idempotency lock; try again once it runs out."""

    final_on_last_receive = False


class IdempotencyStoreError(RetryableError):
    """The idempotency store could not be reached before the handler ran: try again later."""


class IdempotencyKeyReused(PermanentError):  # noqa: N818 -- the name the README and statuses promise
    """The task's idempotency key belongs to a task with a different body: no retry can
    make the key mean this task, and the other task's result is not this one's answer."""


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """One key's record, in powertools' fields plus the lock's owner."""

    key: str
    status: str
    expires_at: int
    """Epoch seconds after which the record is void (the table's TTL attribute)."""
    locked_until_ms: int | None = None
    """Epoch milliseconds at which an in-progress lock runs out."""
    owner: str | None = None
    data: str | None = None
    """The stored answer as JSON text: ``{"result": ...}``."""
    payload_hash: str | None = None
    """:func:`payload_hash` of the task that took the key (``None`` in older records)."""

    def refuses(self, payload: str | None) -> bool:
        """Whether this record belongs to a task with another body than ``payload``'s
        hash (records from before payload hashes refuse nothing)."""
        return self.payload_hash is not None and payload is not None and self.payload_hash != payload

    def lock_seconds_left(self, now: float) -> float:
        """Seconds until this record stops blocking other attempts (0 when it does not)."""
        if self.expires_at < int(now) or self.status != IN_PROGRESS:
            return 0.0
        if self.locked_until_ms is None:
            return float(self.expires_at) - now
        return max(0.0, self.locked_until_ms / 1000 - now)


class IdempotencyStore(Protocol):
    """Where records live: DynamoDB in production, memory in tests (same rules)."""

    def acquire(self, record: IdempotencyRecord, now: float) -> IdempotencyRecord | None:
        """Write the in-progress ``record`` unless another attempt's record holds the key.

        The write goes through when the key has no record, its record expired, its lock ran
        out, or its lock has the same owner. Otherwise returns the record that stands.
        """
        ...

    def complete(self, record: IdempotencyRecord) -> None:
        """Store the completed ``record`` (unconditionally: a result is never wrong)."""
        ...

    def renew(self, key: str, owner: str, locked_until_ms: int) -> None:
        """Move ``owner``'s lock on ``key`` to ``locked_until_ms``; no-op if it is not theirs."""
        ...

    def release(self, key: str, owner: str) -> None:
        """Delete ``owner``'s in-progress lock on ``key``; no-op if it is not theirs."""
        ...


class _UnstorableError(Exception):
    """The handler returned something its output model refuses: do not store it."""

    def __init__(self, value: Any) -> None:
        super().__init__("invalid result")
        self.value = value


class Idempotency(Middleware):
    """Runs each idempotent task at most once per key; see the module docstring.

    ``store`` is an :class:`IdempotencyStore`, or a callable building one on first use (so
    that no AWS client is made until a task runs). ``clock`` gives epoch seconds.
    """

    def __init__(
        self,
        store: IdempotencyStore | Callable[[], IdempotencyStore],
        *,
        expires_after_seconds: int = DEFAULT_EXPIRES_AFTER_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self.expires_after_seconds = expires_after_seconds
        self.clock = clock
        self._leases: Leases | None = None

    @classmethod
    def dynamodb(cls, table: str, client: Callable[[], Any], **options: Any) -> Idempotency:
        """Records in ``table`` (key ``id``, TTL ``expiration``), through ``client()``."""
        return cls(lambda: DynamoDBIdempotencyStore(table, client()), **options)

    @property
    def store(self) -> IdempotencyStore:
        if callable(self._store) and not hasattr(self._store, "acquire"):
            self._store = self._store()
        return self._store  # type: ignore[return-value]

    def applies_to(self, task: TaskDefinition) -> bool:
        return task.idempotent

    # ------------------------------------------------------------------ one attempt

    def wrap_handler(self, call: TaskCall, proceed: HandlerCall) -> BaseModel | None:
        if not call.task.idempotent:
            return proceed()
        message, now = call.message, self.clock()
        key, owner = record_key(call.task.name, message), lock_owner(message)
        lock = IdempotencyRecord(
            key,
            IN_PROGRESS,
            expires_at=int(now) + self.expires_after_seconds,
            locked_until_ms=int((now + self._lock_seconds(call)) * 1000),
            owner=owner,
            payload_hash=payload_hash(message),
        )
        standing = self._acquire(lock, now)
        if standing is not None:
            return self._answer_from(call, standing, lock, now)
        try:
            value = proceed()
            data = _storable(call, value)
        except _UnstorableError as exc:
            self._release(call, key, owner)
            return exc.value  # type: ignore[no-any-return]  # the dispatcher reports it as invalid
        except BaseException:
            self._release(call, key, owner)
            raise
        self._complete(call, replace(lock, status=COMPLETED, locked_until_ms=None, data=data))
        return value

    def _lock_seconds(self, call: TaskCall) -> float:
        """How long the lock may stand before anyone renews it: the message's visibility
        when the worker's heartbeat renews locks, else the runtime's deadline."""
        visible = self._leases.lock_seconds(call.message) if self._leases is not None else None
        if visible is not None:
            return visible
        return min(call.deadline.remaining(), float(self.expires_after_seconds))

    def _acquire(self, lock: IdempotencyRecord, now: float) -> IdempotencyRecord | None:
        """The standing record of another attempt, or ``None`` once the lock is ours."""
        try:
            return self.store.acquire(lock, now)
        except Exception as exc:
            # the write may have landed before its answer was lost: take back what is ours
            with contextlib.suppress(Exception):  # best effort: the lock runs out by itself
                self.store.release(lock.key, lock.owner or "")
            raise IdempotencyStoreError(f"cannot take the idempotency lock: {exc}") from exc

    def _answer_from(
        self, call: TaskCall, standing: IdempotencyRecord, lock: IdempotencyRecord, now: float
    ) -> BaseModel | None:
        if standing.refuses(lock.payload_hash):
            raise IdempotencyKeyReused("the idempotency key was used by a task with another body")
        if standing.status == COMPLETED:
            call.duplicate = True
            return _restore(call, standing.data)
        wait = standing.lock_seconds_left(now)
        raise DuplicateInProgressError(
            f"task {call.message.task_id} is being run by another attempt (its lock runs out in {wait:.0f}s)"
        )

    def _complete(self, call: TaskCall, record: IdempotencyRecord) -> None:
        """Store the result; if that fails, the handler's result still stands (rule 4)."""
        try:
            self.store.complete(record)
        except Exception as exc:
            call.logger.log(
                30,
                "could not store the idempotent result; the task succeeded and its lock runs out",
                extra=_identity(call, exc),
            )

    def _release(self, call: TaskCall, key: str, owner: str) -> None:
        try:
            self.store.release(key, owner)
        except Exception as exc:
            call.logger.log(
                30,
                "could not release the idempotency lock; it runs out by itself",
                extra=_identity(call, exc),
            )

    # ------------------------------------------------------------------ the heartbeat's side

    @property
    def renew_every(self) -> float:
        return RENEW_EVERY_SECONDS

    def attach(self, leases: Leases) -> None:
        """The worker's heartbeat renews this middleware's locks along with ``leases``."""
        self._leases = leases

    def renew(self, held: Sequence[tuple[TaskMessage, float]]) -> None:
        """Each ``(message, seconds)``: the message stays invisible ``seconds`` from now, so
        its lock, if this process's attempt holds one, lasts as long."""
        now, failures = self.clock(), []
        for message, seconds in held:
            if message.task_type and message.receipt_handle:
                until_ms = int((now + seconds) * 1000)
                try:
                    self.store.renew(record_key(message.task_type, message), lock_owner(message), until_ms)
                except Exception as exc:  # try the others; such a lock runs out a little early
                    failures.append(exc)
        if failures:
            raise failures[0]


# ---------------------------------------------------------------------- keys and values


def record_key(task_type: str, message: TaskMessage) -> str:
    """``taskworker#`` and the md5 of the key data, as powertools' utility computes it; a
    client key is scoped by the message's caller when it names one."""
    if message.idempotency_key and message.caller:
        data = {"task_type": task_type, "caller": message.caller, "idempotency_key": message.idempotency_key}
    elif message.idempotency_key:
        data = {"task_type": task_type, "idempotency_key": message.idempotency_key}
    else:
        data = {"task_type": task_type, "message_id": message.task_id}
    digest = hashlib.md5(json.dumps(data, sort_keys=True).encode(), usedforsecurity=False)
    return f"{KEY_PREFIX}#{digest.hexdigest()}"


def payload_hash(message: TaskMessage) -> str:
    """sha256 of the body as canonical JSON (key order and spacing do not make another
    request), or of the raw text when it is not JSON."""
    try:
        text = json.dumps(json.loads(message.body), sort_keys=True, separators=(",", ":"))
    except ValueError:
        text = message.body
    return hashlib.sha256(text.encode()).hexdigest()


def lock_owner(message: TaskMessage) -> str:
    """The attempt's identity: a hash of its receipt handle (never the handle itself, which
    could delete the message), or a random token for a message without one."""
    if not message.receipt_handle:
        return uuid.uuid4().hex
    return hashlib.sha256(message.receipt_handle.encode()).hexdigest()[:32]


def _identity(call: TaskCall, exc: Exception) -> dict[str, Any]:
    return {
        "task_id": call.message.task_id,
        "task_type": call.task.name,
        "attempt": call.message.receive_count,
        "error": f"{type(exc).__name__}: {exc}",
    }


def _storable(call: TaskCall, value: Any) -> str:
    """The handler's result as stored JSON, validated first so that no bad result is stored."""
    model = call.task.output_model
    if model is None or value is None:
        return json.dumps({"result": None})
    try:
        validated = value if isinstance(value, model) else model.model_validate(value)
    except ValidationError as exc:
        raise _UnstorableError(value) from exc
    return json.dumps({"result": validated.model_dump(mode="json")}, sort_keys=True)


def _restore(call: TaskCall, data: str | None) -> BaseModel | None:
    model = call.task.output_model
    stored = json.loads(data) if data else None
    result = stored.get("result") if isinstance(stored, dict) else None
    if model is None or result is None:
        return None
    return model.model_validate(result)


# ---------------------------------------------------------------------- DynamoDB


ACQUIRE_TRIES = 2
_NAMES = {
    "#id": "id",
    "#status": "status",
    "#expiry": "expiration",
    "#lock": "in_progress_expiration",
    "#owner": "owner",
    "#validation": "validation",
}
_NAMES_OWNED = {"#owner": "owner", "#status": "status"}
_TAKEABLE = (
    "attribute_not_exists(#id) OR #expiry < :now OR (#status = :in_progress AND (#owner = :owner OR "
    "(#lock < :now_ms AND (attribute_not_exists(#validation) OR #validation = :validation))))"
)
"""When a lock may be taken: no record, a void one, our own lock, or a lock run out of a
task with the same body (one with another body is answered, as a reused key)."""


class DynamoDBIdempotencyStore:
    """Records in a DynamoDB table, every write conditional on who holds the key."""

    def __init__(self, table: str, client: Any) -> None:
        self.table = table
        self.client = client

    def acquire(self, record: IdempotencyRecord, now: float) -> IdempotencyRecord | None:
        assert record.owner is not None
        for _ in range(ACQUIRE_TRIES):
            try:
                self.client.put_item(
                    TableName=self.table,
                    Item=_item(record),
                    ConditionExpression=_TAKEABLE,
                    ExpressionAttributeNames=_NAMES,
                    ExpressionAttributeValues={
                        ":now": {"N": str(int(now))},
                        ":now_ms": {"N": str(int(now * 1000))},
                        ":in_progress": {"S": IN_PROGRESS},
                        ":owner": {"S": record.owner},
                        ":validation": {"S": record.payload_hash or ""},
                    },
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
                return None
            except self.client.exceptions.ConditionalCheckFailedException as exc:
                item = exc.response.get("Item") or self._get(record.key)
                if item:
                    return _record(item)
        # the record kept vanishing between our write and our read: someone is busy with it
        return IdempotencyRecord(record.key, IN_PROGRESS, int(now) + 1, int(now * 1000) + 1000)

    def complete(self, record: IdempotencyRecord) -> None:
        """UpdateItem, as powertools writes a success: the lock's owner stays for the record."""
        self.client.update_item(
            TableName=self.table,
            Key={"id": {"S": record.key}},
            UpdateExpression="SET #status = :completed, #expiry = :expiry, #data = :data REMOVE #lock",
            ExpressionAttributeNames={
                "#status": "status",
                "#expiry": "expiration",
                "#data": "data",
                "#lock": "in_progress_expiration",
            },
            ExpressionAttributeValues={
                ":completed": {"S": COMPLETED},
                ":expiry": {"N": str(record.expires_at)},
                ":data": {"S": record.data or "null"},
            },
        )

    def renew(self, key: str, owner: str, locked_until_ms: int) -> None:
        with contextlib.suppress(self.client.exceptions.ConditionalCheckFailedException):  # not ours
            self.client.update_item(
                **self._owned(key, owner, {":until": {"N": str(locked_until_ms)}}),
                UpdateExpression="SET #lock = :until",
            )

    def release(self, key: str, owner: str) -> None:
        with contextlib.suppress(self.client.exceptions.ConditionalCheckFailedException):  # not ours
            self.client.delete_item(**self._owned(key, owner, {}))

    def _owned(self, key: str, owner: str, values: dict[str, Any]) -> dict[str, Any]:
        """Arguments of a write to ``key`` that goes through only while ``owner`` holds it."""
        return {
            "TableName": self.table,
            "Key": {"id": {"S": key}},
            "ConditionExpression": "#owner = :owner AND #status = :in_progress",
            "ExpressionAttributeNames": _NAMES_OWNED
            if not values
            else {**_NAMES_OWNED, "#lock": "in_progress_expiration"},
            "ExpressionAttributeValues": {
                ":owner": {"S": owner},
                ":in_progress": {"S": IN_PROGRESS},
                **values,
            },
        }

    def _get(self, key: str) -> dict[str, Any] | None:
        response = self.client.get_item(TableName=self.table, Key={"id": {"S": key}}, ConsistentRead=True)
        return response.get("Item")  # type: ignore[no-any-return]


def _item(record: IdempotencyRecord) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": {"S": record.key},
        "status": {"S": record.status},
        "expiration": {"N": str(record.expires_at)},
    }
    if record.locked_until_ms is not None:
        item["in_progress_expiration"] = {"N": str(record.locked_until_ms)}
    if record.owner is not None:
        item["owner"] = {"S": record.owner}
    if record.data is not None:
        item["data"] = {"S": record.data}
    if record.payload_hash is not None:
        item["validation"] = {"S": record.payload_hash}
    return item


def _record(item: dict[str, Any]) -> IdempotencyRecord:
    lock = item.get("in_progress_expiration", {}).get("N")
    return IdempotencyRecord(
        key=item["id"]["S"],
        status=item.get("status", {}).get("S", IN_PROGRESS),
        expires_at=int(item.get("expiration", {}).get("N", "0")),
        locked_until_ms=int(lock) if lock is not None else None,
        owner=item.get("owner", {}).get("S"),
        data=item.get("data", {}).get("S"),
        payload_hash=item.get("validation", {}).get("S"),
    )

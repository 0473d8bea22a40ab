"""The task status table: one DynamoDB item per task id, read by ``GET /tasks/{task_id}``.

The deployed API reads items straight from DynamoDB through an API Gateway mapping, so the
item schema below is a public contract; keep it exactly:

=================  ====  ====================================================
``task_id``        S     partition key (the SQS MessageId)
``task_type``      S
``status``         S     ``scheduled`` | ``running`` | ``retrying`` | ``succeeded`` | ``failed`` |
                         ``cancelled``
``attempt``        N     ApproximateReceiveCount of the attempt that wrote it (0: ``scheduled``)
``started_at``     S     ISO-8601, when that attempt started
``updated_at``     S     ISO-8601
``finished_at``    S     optional, on ``succeeded``, ``failed`` and ``cancelled``
``result``         S     optional, the result as JSON text
``error_type``     S     optional
``error_message``  S     optional
``correlation_id`` S     optional, the message's correlation id
``caller``         S     optional, who the API says sent it (not shown by ``GET``)
``parent_task_id`` S     optional, the task that submitted this one (``ctx.submit``)
``children``       SS    optional, the ids of the tasks this one submitted (at most 1,000)
``scheduled_for``  S     optional, ISO-8601, when a ``scheduled`` task is due
``cancel_requested_at`` S  optional, ISO-8601, when ``handle.cancel()`` asked
``progress_done``  N     optional, the last ``ctx.report_progress(done, ...)``
``progress_total`` N     optional
``progress_msg``   S     optional, its message
``progress_at``    S     optional, ISO-8601, when that progress was reported
``expires_at``     N     epoch seconds; the table's TTL attribute
=================  ====  ====================================================

Only the low-level client is used (no ``boto3.resource``): it is what an app already has,
and the attribute-value shapes are written out here once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from taskworker.aws.batch import DEFAULT_POLICY, WRITE_ITEMS, BatchResult, RetryPolicy, call_batch

StatusName = Literal["scheduled", "running", "retrying", "succeeded", "failed", "cancelled"]
FINAL: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})

_FINAL_NAMES = ", ".join(f":{name}" for name in sorted(FINAL))
_FINAL_VALUES = {f":{name}": {"S": name} for name in FINAL}
"""Expression placeholders for "one of the final statuses"."""

MAX_RESULT_BYTES = 350_000
"""Results above this are not stored inline: DynamoDB refuses items above 400 KB."""

MAX_ERROR_TEXT = 4_000

MAX_LISTED_CHILDREN = 1_000
"""Follow-up ids kept in a status item (36 bytes each), so a fan-out cannot outgrow it."""

_STRING_FIELDS = (
    "task_type",
    "status",
    "started_at",
    "updated_at",
    "finished_at",
    "result",
    "correlation_id",
    "cancel_requested_at",
    "caller",
    "parent_task_id",
    "scheduled_for",
)
_ERROR_FIELDS = ("error_type", "error_message")


@dataclass(frozen=True, slots=True)
class Progress:
    """What a handler last told :meth:`~taskworker.TaskContext.report_progress`."""

    done: float
    total: float | None = None
    message: str | None = None
    updated_at: str = ""

    def as_api_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"done": _number(self.done)}
        if self.total is not None:
            data["total"] = _number(self.total)
        if self.message is not None:
            data["message"] = self.message
        data["updated_at"] = self.updated_at
        return data

    def attributes(self) -> dict[str, dict[str, str]]:
        """The ``progress_*`` attributes in DynamoDB's attribute-value shape."""
        item = {"progress_done": {"N": _number_text(self.done)}, "progress_at": {"S": self.updated_at}}
        if self.total is not None:
            item["progress_total"] = {"N": _number_text(self.total)}
        if self.message is not None:
            item["progress_msg"] = {"S": self.message}
        return item

    @classmethod
    def from_item(cls, item: Mapping[str, Mapping[str, str]]) -> Progress | None:
        done = item.get("progress_done", {}).get("N")
        if done is None:
            return None
        total = item.get("progress_total", {}).get("N")
        return cls(
            done=float(done),
            total=None if total is None else float(total),
            message=item.get("progress_msg", {}).get("S") or None,
            updated_at=item.get("progress_at", {}).get("S", ""),
        )


def _number(value: float) -> float | int:
    """Whole numbers as ints, so ``3`` reads back as ``3`` and not ``3.0``."""
    return int(value) if float(value).is_integer() else float(value)


def _number_text(value: float) -> str:
    return str(_number(value))


@dataclass(frozen=True, slots=True)
class TaskStatus:
    """One task's status as stored; :meth:`as_api_json` is what both status APIs return."""

    task_id: str
    task_type: str
    status: StatusName
    attempt: int
    started_at: str
    updated_at: str
    expires_at: int
    finished_at: str | None = None
    result: str | None = None
    """The result as JSON text, exactly as stored."""
    error_type: str | None = None
    error_message: str | None = None
    correlation_id: str | None = None
    progress: Progress | None = None
    cancel_requested_at: str | None = None
    """Set by ``handle.cancel()``; kept on a status that finished anyway (too late)."""
    caller: str | None = None
    """The message's ``caller``: only that caller may cancel it through the API. Not part
    of :meth:`as_api_json`: an identity is no business of whoever reads the status."""
    parent_task_id: str | None = None
    children: tuple[str, ...] = ()
    """The tasks this one submitted with ``ctx.submit`` (a string set: no order kept)."""
    scheduled_for: str | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL

    def as_api_json(self) -> dict[str, Any]:
        """The public JSON shape: the result parsed, the error as ``{"type", "message"}``."""
        data: dict[str, Any] = {
            "task_id": self.task_id,
            "task_type": self.task_type,
            "status": self.status,
            "attempt": self.attempt,
            "started_at": self.started_at,
            "updated_at": self.updated_at,
        }
        if self.finished_at is not None:
            data["finished_at"] = self.finished_at
        if self.result is not None:
            data["result"] = json.loads(self.result)
        if self.error_type is not None:
            data["error"] = {"type": self.error_type, "message": self.error_message or ""}
        if self.correlation_id is not None:
            data["correlation_id"] = self.correlation_id
        if self.progress is not None:
            data["progress"] = self.progress.as_api_json()
        if self.cancel_requested_at is not None:
            data["cancel_requested_at"] = self.cancel_requested_at
        for name in ("parent_task_id", "scheduled_for"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        if self.children:
            data["children"] = list(self.children)
        return data

    def to_item(self) -> dict[str, dict[str, Any]]:
        """The item in DynamoDB's attribute-value shape."""
        item: dict[str, dict[str, Any]] = {
            "task_id": {"S": self.task_id},
            "attempt": {"N": str(self.attempt)},
            "expires_at": {"N": str(self.expires_at)},
        }
        for name in (*_STRING_FIELDS, *_ERROR_FIELDS):
            value = getattr(self, name)
            if value is not None:
                item[name] = {"S": value}
        if self.progress is not None:
            item.update(self.progress.attributes())
        if self.children:
            item["children"] = {"SS": list(self.children[:MAX_LISTED_CHILDREN])}
        return item

    @classmethod
    def from_item(cls, item: Mapping[str, Mapping[str, Any]]) -> TaskStatus:
        def text(name: str) -> str | None:
            value = item.get(name)
            return None if value is None else value.get("S")

        return cls(
            task_id=text("task_id") or "",
            task_type=text("task_type") or "",
            status=text("status") or "running",  # type: ignore[arg-type]
            attempt=int(item.get("attempt", {}).get("N", "0")),
            started_at=text("started_at") or "",
            updated_at=text("updated_at") or "",
            expires_at=int(item.get("expires_at", {}).get("N", "0")),
            finished_at=text("finished_at"),
            result=text("result"),
            error_type=text("error_type"),
            error_message=text("error_message"),
            correlation_id=text("correlation_id"),
            progress=Progress.from_item(item),
            cancel_requested_at=text("cancel_requested_at"),
            caller=text("caller"),
            parent_task_id=text("parent_task_id"),
            children=tuple(item.get("children", {}).get("SS", ())),
            scheduled_for=text("scheduled_for"),
        )


def result_text(result: Any) -> str | None:
    """JSON text of a result for the ``result`` attribute, or ``None`` when too large."""
    text = json.dumps(result, separators=(",", ":"), default=str)
    return text if len(text.encode()) <= MAX_RESULT_BYTES else None


def clip_error(message: str) -> str:
    return message if len(message) <= MAX_ERROR_TEXT else message[: MAX_ERROR_TEXT - 1] + "…"


class StatusTable:
    """Reads and writes status items through a low-level DynamoDB client.

    Writes never raise for a lost race: :meth:`put_if_newer` reports ``False`` when a
    newer attempt (or a final status) is already stored, which is the expected outcome
    of a stale write, not an error. Other errors propagate to the caller, which retries.
    """

    def __init__(self, table: str, client: Any) -> None:
        self.table = table
        self.client = client

    def get(self, task_id: str) -> TaskStatus | None:
        response = self.client.get_item(
            TableName=self.table, Key={"task_id": {"S": task_id}}, ConsistentRead=True
        )
        item = response.get("Item")
        return None if item is None else TaskStatus.from_item(item)

    def put_if_newer(self, status: TaskStatus) -> bool:
        """Write a ``running`` or ``retrying`` status unless it would hide newer news.

        It loses to an item of a later attempt, to a final status of the same or a
        later attempt (a late ``retrying`` must not undo ``succeeded``), to ``cancelled``
        and to a requested cancellation (which would otherwise be overwritten).
        """
        try:
            self.client.put_item(
                TableName=self.table,
                Item=status.to_item(),
                ConditionExpression=(
                    "attribute_not_exists(task_id) OR ((#attempt < :attempt "
                    "OR (#attempt = :attempt AND NOT #status IN (:succeeded, :failed))) "
                    "AND #status <> :cancelled AND attribute_not_exists(cancel_requested_at))"
                ),
                ExpressionAttributeNames={"#attempt": "attempt", "#status": "status"},
                ExpressionAttributeValues={
                    ":attempt": {"N": str(status.attempt)},
                    ":succeeded": {"S": "succeeded"},
                    ":failed": {"S": "failed"},
                    ":cancelled": {"S": "cancelled"},
                },
            )
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def request_cancel(self, task_id: str, now: str, *, caller: str | None = None) -> CancelResult:
        """Record a cancellation request: one conditional UpdateItem (:func:`cancel_request`).

        A record that is not final gets ``cancel_requested_at`` (the latest request's time), which
        a running handler sees through ``ctx.cancel_requested()`` and which stops any later
        attempt from starting. No record is ``not_found`` and nothing is written: an id
        nobody submitted must not leave a record behind. ``caller`` (the API's) must be the
        record's own caller when the record names one; another caller's task is
        ``not_found`` too, so a caller learns nothing about tasks that are not its own.
        """
        try:
            answer = self.client.update_item(**cancel_request(self.table, task_id, now, caller))
        except Exception as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            return _refused_cancel(getattr(exc, "response", {}).get("Item"), caller)
        return CancelResult("requested", answer["Attributes"]["cancel_requested_at"]["S"])

    def cancel_scheduled(self, task_id: str, now: str) -> bool:
        """End a ``scheduled`` task as ``cancelled`` (its schedule is gone, it will never run);
        ``False`` when the record is no longer ``scheduled``."""
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"task_id": {"S": task_id}},
                UpdateExpression="SET #status = :cancelled, finished_at = :now, updated_at = :now",
                ConditionExpression="#status = :scheduled",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":now": {"S": now},
                    ":cancelled": {"S": "cancelled"},
                    ":scheduled": {"S": "scheduled"},
                },
            )
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def cancel_requested_at(self, task_id: str) -> str | None:
        """When cancellation was asked for, or ``None``: a GetItem of one attribute."""
        response = self.client.get_item(
            TableName=self.table,
            Key={"task_id": {"S": task_id}},
            ConsistentRead=True,
            ProjectionExpression="cancel_requested_at",
        )
        value = response.get("Item", {}).get("cancel_requested_at", {}).get("S")
        return value if isinstance(value, str) else None

    def put_progress(self, task_id: str, attempt: int, progress: Progress) -> bool:
        """Set the ``progress_*`` attributes of the running attempt; ``False`` when the
        task already has a final status or a later attempt runs (progress never regresses
        a status). The whole record is not rewritten, so nothing else can be lost."""
        values = {
            ":attempt": {"N": str(attempt)},
            ":done": {"N": _number_text(progress.done)},
            ":at": {"S": progress.updated_at},
            **_FINAL_VALUES,
        }
        sets = ["progress_done = :done", "progress_at = :at", "updated_at = :at"]
        removes = []
        for attribute, key, value in (
            (
                "progress_total",
                ":total",
                None if progress.total is None else {"N": _number_text(progress.total)},
            ),
            ("progress_msg", ":msg", None if progress.message is None else {"S": progress.message}),
        ):
            if value is None:
                removes.append(attribute)
            else:
                sets.append(f"{attribute} = {key}")
                values[key] = value
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"task_id": {"S": task_id}},
                UpdateExpression=expression,
                ConditionExpression=(
                    f"attribute_exists(task_id) AND #attempt = :attempt AND NOT #status IN ({_FINAL_NAMES})"
                ),
                ExpressionAttributeNames={"#attempt": "attempt", "#status": "status"},
                ExpressionAttributeValues=values,
            )
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def put_batch(
        self, statuses: Iterable[TaskStatus], *, policy: RetryPolicy = DEFAULT_POLICY
    ) -> BatchResult[TaskStatus]:
        """BatchWriteItem through the batch helper (25 items, 16 MiB, unprocessed items retried).

        Final statuses are written unconditionally (BatchWriteItem has no conditions): a
        final answer is never stale, whichever attempt found it. Of several statuses of
        one task only the latest attempt's is written (DynamoDB refuses a key twice).
        """
        latest: dict[str, TaskStatus] = {}
        for status in statuses:
            if status.task_id not in latest or latest[status.task_id].attempt <= status.attempt:
                latest[status.task_id] = status
        return call_batch(
            self.client,
            WRITE_ITEMS,
            self.table,
            list(latest.values()),
            lambda status: {"PutRequest": {"Item": status.to_item()}},
            policy=policy,
        )


CancelAnswer = Literal["requested", "finished", "not_found"]


@dataclass(frozen=True, slots=True)
class CancelResult:
    """What a cancellation request found: ``requested`` (with when it was first asked),
    ``finished`` (the record's final ``status``: nothing changed) or ``not_found``."""

    answer: CancelAnswer
    cancel_requested_at: str | None = None
    status: str | None = None


CANCEL_CONDITION = f"attribute_exists(task_id) AND NOT #status IN ({_FINAL_NAMES})"
CALLER_CONDITION = " AND (attribute_not_exists(#caller) OR #caller = :caller)"


def cancel_request(table: str, task_id: str, now: str, caller: str | None) -> dict[str, Any]:
    """The UpdateItem of a cancellation request, as keyword arguments of the low-level client.

    The deployed API's ``DELETE /tasks/{task_id}`` template is this very request with VTL
    in place of ``task_id``, ``now`` and ``caller``, so both APIs and the client write alike.
    On a refusal DynamoDB returns the old item (``ReturnValuesOnConditionCheckFailure``),
    which tells a finished task from a missing one without a second call. A repeated request
    moves ``cancel_requested_at`` to its own time: ``UPDATED_NEW`` then always names it
    (moto, unlike DynamoDB, leaves out an attribute a SET did not change).
    """
    names = {"#status": "status"}
    values: dict[str, Any] = {":now": {"S": now}, **_FINAL_VALUES}
    condition = CANCEL_CONDITION
    if caller is not None:
        names["#caller"] = "caller"
        values[":caller"] = {"S": caller}
        condition += CALLER_CONDITION
    return {
        "TableName": table,
        "Key": {"task_id": {"S": task_id}},
        "UpdateExpression": ("SET cancel_requested_at = :now, updated_at = :now"),
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ReturnValues": "UPDATED_NEW",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def _refused_cancel(item: Mapping[str, Mapping[str, str]] | None, caller: str | None) -> CancelResult:
    """A refused request: no record, or another caller's, is ``not_found``; else finished."""
    if not item:
        return CancelResult("not_found")
    owner = item.get("caller", {}).get("S")
    if caller is not None and owner and owner != caller:
        return CancelResult("not_found")
    return CancelResult("finished", status=item.get("status", {}).get("S"))


def status_table(name: str | None, client: Any) -> StatusTable:
    """The configured status table, or a clear error naming the setting."""
    if not name:
        from taskworker.errors import TaskworkerError

        raise TaskworkerError("no status table configured: set TASKWORKER_STATUS_TABLE")
    return StatusTable(name, client)


def error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        code = response.get("Error", {}).get("Code")
        return code if isinstance(code, str) else None
    return None

"""Dead-letter queue tooling: look at failed tasks and send them back for another try.

SQS has no "list" for a queue: looking means receiving. :meth:`DeadLetters.peek` receives
with a short visibility timeout and gives every message back at once, so a look leaves
the DLQ as it was (apart from receive counts).

Messages are known by their task id, the id a client got from the API: the ``task_id``
attribute of a copy the worker dead-lettered, or the MessageId of a message SQS redrove
itself (SQS keeps the id; such a message carries no reason, the status and the failed
event name the error).

Redrive prefers SQS's own StartMessageMoveTask, which moves messages server-side. Where the
endpoint lacks it (moto answers HTTP 500) or refuses it, messages are moved by hand:
receive from the DLQ, send to the task queue, and only then delete from the DLQ, in
batches, so a crash in between can duplicate a message but never lose one. A hand move
is bounded by the DLQ's depth when it started and moves each task at most once per run,
so permanent failures that a running consumer sends straight back are left for the next
run instead of looping. The hand-moved copies keep their task id and typed attributes
and lose the ``error_*``/``failed_at`` reason, so they look like fresh tasks again; a
server-side move keeps all attributes.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from taskworker.aws.batch import DEFAULT_POLICY, SEND_MESSAGES, RetryPolicy, call_batch
from taskworker.errors import TaskworkerError
from taskworker.handlers.settle import delete_messages
from taskworker.handlers.visibility import change_visibility, redrive_policy
from taskworker.messages import ERROR_MESSAGE, ERROR_TYPE, FAILED_AT, TASK_ID, TASK_TYPE
from taskworker.settings import Settings

BATCH_SIZE = 10
PEEK_VISIBILITY = 30
MOVE_VISIBILITY = 120
REDRIVE_STRIPPED = frozenset({ERROR_TYPE, ERROR_MESSAGE, FAILED_AT})
"""Attributes that describe a failure, dropped when a message gets another try."""

Progress = Callable[[int], None]


class RedriveError(Exception):
    """Some messages could not be sent back; they are still in the DLQ."""


class QueueNotFoundError(TaskworkerError):
    """The queue named, or its DLQ, is not known to the settings."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One message in the DLQ, with the reason the worker gave for putting it there."""

    message_id: str
    body: str
    attributes: dict[str, str]
    """Every attribute as text (Binary ones as ``base64:...``), for showing."""
    receive_count: int
    sent_timestamp_ms: int | None
    group_id: str | None = None

    @property
    def task_id(self) -> str:
        """The id the client got: the copy's ``task_id``, else the MessageId SQS kept."""
        return self.attributes.get(TASK_ID) or self.message_id

    @property
    def task_type(self) -> str | None:
        return self.attributes.get(TASK_TYPE)

    @property
    def error_type(self) -> str | None:
        return self.attributes.get(ERROR_TYPE)

    @property
    def error_message(self) -> str | None:
        return self.attributes.get(ERROR_MESSAGE)

    @property
    def failed_at(self) -> str | None:
        return self.attributes.get(FAILED_AT)

    @classmethod
    def from_sqs(cls, raw: Mapping[str, Any]) -> DeadLetter:
        system = raw.get("Attributes", {})
        sent = system.get("SentTimestamp")
        return cls(
            message_id=raw["MessageId"],
            body=raw.get("Body", ""),
            attributes={name: _text(value) for name, value in raw.get("MessageAttributes", {}).items()},
            receive_count=int(system.get("ApproximateReceiveCount", 0)),
            sent_timestamp_ms=int(sent) if sent else None,
            group_id=system.get("MessageGroupId"),
        )


@dataclass(slots=True)
class RedriveReport:
    method: str
    """``move-task`` (server-side) or ``manual``."""
    moved: int = 0
    note: str = ""
    failed_ids: list[str] = field(default_factory=list)


def dead_letter_url(sqs: Any, queue_url: str) -> str | None:
    """The URL of the DLQ the queue's RedrivePolicy names; ``None`` without a policy.

    Each queue has its own DLQ; this is how a worker or the tooling finds a queue's DLQ
    from the queue alone (GetQueueUrl by name and owner, so moto and LocalStack work too).
    """
    policy = redrive_policy(sqs, queue_url)
    if policy is None:
        return None
    *_, account, name = str(policy["deadLetterTargetArn"]).split(":")
    return str(sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])


def of_queue(
    sqs: Any, settings: Settings, queue: str, *, dlq_url: str | None = None, queue_url: str | None = None
) -> DeadLetters:
    """The DLQ of the app's queue ``queue``, redriven to that queue.

    Each queue has its own DLQ: the queue's URL comes from ``queue_url``, else
    ``TASKWORKER_QUEUE_URLS`` (or ``TASKWORKER_QUEUE_URL`` for the queue this environment
    consumes, or for the default queue); its DLQ from ``dlq_url``, else this environment's
    DLQ when it consumes that queue, else the queue's RedrivePolicy.
    """
    known = settings.queue_urls or {}
    own = queue == settings.own_queue
    target = queue_url or known.get(queue) or (settings.queue_url if own else None)
    if not target:
        names = ", ".join(sorted(known)) or "none"
        raise QueueNotFoundError(
            f"unknown queue {queue!r}: TASKWORKER_QUEUE_URLS names {names}; set it or pass --queue-url"
        )
    dlq = dlq_url or (settings.dlq_url if own else None) or dead_letter_url(sqs, target)
    if not dlq:
        raise QueueNotFoundError(f"queue {queue!r} has no RedrivePolicy naming a DLQ: pass --dlq-url")
    return DeadLetters(sqs, dlq, target)


class DeadLetters:
    """The DLQ at ``dlq_url``; ``queue_url`` is where redriven messages go."""

    def __init__(
        self, sqs: Any, dlq_url: str, queue_url: str | None = None, *, policy: RetryPolicy = DEFAULT_POLICY
    ) -> None:
        self.sqs = sqs
        self.dlq_url = dlq_url
        self.queue_url = queue_url
        self.policy = policy

    def depth(self) -> int:
        """ApproximateNumberOfMessages of the DLQ."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])

    def peek(self, limit: int = 10) -> list[DeadLetter]:
        """Up to ``limit`` messages, given back at once after reading."""
        raw = self._receive_upto(limit, lambda batch: False)
        return [DeadLetter.from_sqs(m) for m in raw]

    def find(self, task_id: str, scan_limit: int = 1000) -> DeadLetter | None:
        """The message of ``task_id`` (or with that MessageId), scanning at most ``scan_limit``."""

        def matches(raw: Mapping[str, Any]) -> bool:
            return task_id in (raw["MessageId"], _task_id(raw))

        raw = self._receive_upto(scan_limit, lambda batch: any(matches(m) for m in batch))
        return next((DeadLetter.from_sqs(m) for m in raw if matches(m)), None)

    def delete(self, task_ids: Collection[str], scan_limit: int = 1000) -> list[str]:
        """Delete the messages of ``task_ids`` (scanning at most ``scan_limit``); returns
        the task ids deleted. Every other message read is given back at once."""
        wanted, seen = set(task_ids), set[str]()

        def matches(raw: Mapping[str, Any]) -> bool:
            return bool(wanted & {raw["MessageId"], _task_id(raw)})

        def found_all(batch: list[dict[str, Any]]) -> bool:
            seen.update(_task_id(m) for m in batch if matches(m))
            return len(seen) >= len(wanted)

        raw = self._receive_upto(scan_limit, found_all, keep=matches)
        doomed = [m for m in raw if matches(m)]
        lost = set(delete_messages(self.sqs, self.dlq_url, [m["ReceiptHandle"] for m in doomed]))
        return [_task_id(m) for m in doomed if m["ReceiptHandle"] not in lost]

    def _receive_upto(
        self,
        limit: int,
        found: Callable[[list[dict[str, Any]]], bool],
        keep: Callable[[Mapping[str, Any]], bool] = lambda raw: False,
    ) -> list[dict[str, Any]]:
        """Receive up to ``limit`` messages until ``found``; all but the ``keep`` ones are
        given back at once."""
        taken: list[dict[str, Any]] = []
        try:
            while len(taken) < limit:
                batch = self._receive(min(BATCH_SIZE, limit - len(taken)), PEEK_VISIBILITY)
                if not batch:
                    break
                taken += batch
                if found(batch):
                    break
        finally:
            change_visibility(
                self.sqs, self.dlq_url, [(m["ReceiptHandle"], 0.0) for m in taken if not keep(m)]
            )
        return taken

    def _receive(self, count: int, visibility: int, wait: int = 1) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.dlq_url,
            MaxNumberOfMessages=count,
            VisibilityTimeout=visibility,
            WaitTimeSeconds=wait,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        return messages

    # ------------------------------------------------------------------ redrive

    def redrive(
        self,
        *,
        progress: Progress | None = None,
        server_side: bool = True,
        only: Collection[str] | None = None,
    ) -> RedriveReport:
        """Send every DLQ message back to the task queue (or those of the task ids ``only``,
        always by hand); see the module docstring."""
        if not self.queue_url:
            raise RedriveError("no task queue to redrive to: set TASKWORKER_QUEUE_URL or pass --queue-url")
        note = ""
        if server_side and only is None:
            try:
                return self._move_task(progress)
            except Exception as exc:
                note = f"StartMessageMoveTask unavailable ({_short(exc)}); moved by hand"
        report = self._move_by_hand(progress, None if only is None else set(only))
        report.note = "; ".join(part for part in (note, report.note) if part)
        return report

    def _move_task(self, progress: Progress | None) -> RedriveReport:
        source = self._arn(self.dlq_url)
        assert self.queue_url is not None
        handle = self.sqs.start_message_move_task(SourceArn=source, DestinationArn=self._arn(self.queue_url))
        handle = handle["TaskHandle"]
        reported = 0
        while True:
            tasks = self.sqs.list_message_move_tasks(SourceArn=source, MaxResults=1).get("Results", [])
            current = next((t for t in tasks if t.get("TaskHandle") == handle), tasks[0] if tasks else {})
            moved = int(current.get("ApproximateNumberOfMessagesMoved", 0))
            if progress is not None and moved > reported:
                progress(moved - reported)
            reported = max(reported, moved)
            status = current.get("Status", "COMPLETED")
            if status not in ("RUNNING", "CANCELLING"):
                break
            time.sleep(1.0)
        if status != "COMPLETED":
            raise RedriveError(f"move task ended {status}: {current.get('FailureReason', 'no reason given')}")
        return RedriveReport("move-task", moved=reported)

    def _move_by_hand(self, progress: Progress | None, only: set[str] | None = None) -> RedriveReport:
        """Move at most the DLQ's depth at the start, each task at most once; see the module."""
        report = RedriveReport("manual")
        depth = self.depth()
        left, receives_left = depth, 2 * depth  # each task once; its copies coming back once more
        if only is not None:
            left = min(left, len(only))
        moved, skipped = set[str](), list[dict[str, Any]]()
        try:
            while left > 0 and receives_left > 0:
                batch = self._receive(min(BATCH_SIZE, receives_left), MOVE_VISIBILITY)
                if not batch:
                    break
                receives_left -= len(batch)
                fresh = [m for m in _first_of_each_task(batch, moved) if _selected(m, only)][:left]
                left -= len(fresh)
                skipped += [m for m in batch if m not in fresh]
                self._move_batch(fresh, report, progress)
                moved.update(_task_id(m) for m in fresh)
        finally:
            change_visibility(self.sqs, self.dlq_url, [(m["ReceiptHandle"], 0.0) for m in skipped])
        if skipped:
            report.note = f"{len(skipped)} messages of tasks already moved in this run were left in the DLQ"
        return report

    def _move_batch(
        self, batch: list[dict[str, Any]], report: RedriveReport, progress: Progress | None
    ) -> None:
        sent = call_batch(
            self.sqs, SEND_MESSAGES, self.queue_url or "", batch, self._entry, policy=self.policy
        )
        moved = [m for m, _ in sent.succeeded]
        lost = delete_messages(
            self.sqs, self.dlq_url, [m["ReceiptHandle"] for m in moved], policy=self.policy
        )
        report.moved += len(moved)
        if progress is not None:
            progress(len(moved))
        if lost:
            report.note = f"{len(lost)} messages were sent back but are still in the DLQ too"
        if sent.failed:
            failed = sent.failed_items()
            change_visibility(self.sqs, self.dlq_url, [(m["ReceiptHandle"], 0.0) for m in failed])
            report.failed_ids = [_task_id(m) for m in failed]
            raise RedriveError(
                f"{len(failed)} messages could not be sent back ({', '.join(sent.codes())}) "
                f"and remain in the DLQ ({report.moved} moved)"
            )

    def _entry(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """The message as a fresh task: reason stripped, task id and typed attributes kept."""
        attributes = {
            k: _attribute(v) for k, v in raw.get("MessageAttributes", {}).items() if k not in REDRIVE_STRIPPED
        }
        attributes.setdefault(TASK_ID, {"DataType": "String", "StringValue": raw["MessageId"]})
        entry: dict[str, Any] = {"MessageBody": raw.get("Body", ""), "MessageAttributes": attributes}
        if (self.queue_url or "").endswith(".fifo"):
            system = raw.get("Attributes", {})
            entry["MessageGroupId"] = system.get("MessageGroupId") or attributes.get(TASK_TYPE, {}).get(
                "StringValue", "redrive"
            )
            entry["MessageDeduplicationId"] = f"{raw['MessageId']}-{uuid.uuid4().hex[:8]}"
        return entry

    def _arn(self, url: str) -> str:
        response = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return str(response["Attributes"]["QueueArn"])


def _task_id(raw: Mapping[str, Any]) -> str:
    value = raw.get("MessageAttributes", {}).get(TASK_ID, {}).get("StringValue")
    return value if isinstance(value, str) and value else str(raw["MessageId"])


def _selected(raw: Mapping[str, Any], only: set[str] | None) -> bool:
    return only is None or bool(only & {raw["MessageId"], _task_id(raw)})


def _first_of_each_task(batch: Sequence[dict[str, Any]], moved: set[str]) -> list[dict[str, Any]]:
    """The messages whose task was not moved yet in this run, one per task."""
    seen = set(moved)
    fresh = []
    for raw in batch:
        if _task_id(raw) not in seen:
            seen.add(_task_id(raw))
            fresh.append(raw)
    return fresh


def _text(value: Mapping[str, Any]) -> str:
    if "StringValue" in value:
        return str(value["StringValue"])
    data = value.get("BinaryValue", b"")
    return "base64:" + base64.b64encode(data if isinstance(data, bytes) else str(data).encode()).decode()


def _attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """A received message attribute in SendMessage's shape (the list fields are not sent)."""
    return {k: v for k, v in value.items() if k in ("DataType", "StringValue", "BinaryValue")}


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."

"""Dead-letter queue tooling: look at failed tasks and send them back for another try.

SQS has no "list" for a queue: looking means receiving. :meth:`DeadLetters.peek` receives
with a short visibility timeout and gives every message back at once, so a look leaves
the DLQ as it was (apart from receive counts).

Redrive prefers SQS's own StartMessageMoveTask, which moves messages server-side. Where the
endpoint lacks it (moto answers HTTP 500) or refuses it, messages are moved by hand:
receive from the DLQ, send to the task queue, and only then delete from the DLQ, in
batches, so a crash in between can duplicate a message but never lose one. The hand-moved
copies lose the ``error_*``/``failed_at`` attributes the worker added, so they look like
fresh tasks again; a server-side move keeps all attributes.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from taskworker.handlers.settle import delete_messages
from taskworker.handlers.visibility import change_visibility
from taskworker.messages import ERROR_MESSAGE, ERROR_TYPE, FAILED_AT, TASK_TYPE

BATCH_SIZE = 10
PEEK_VISIBILITY = 30
MOVE_VISIBILITY = 120
SEND_ATTEMPTS = 3
REDRIVE_STRIPPED = frozenset({ERROR_TYPE, ERROR_MESSAGE, FAILED_AT})
"""Attributes that describe a failure, dropped when a message gets another try."""

Progress = Callable[[int], None]


class RedriveError(Exception):
    """Some messages could not be sent back; they are still in the DLQ."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One message in the DLQ, with the reason the worker gave for putting it there."""

    message_id: str
    body: str
    attributes: dict[str, str]
    receive_count: int
    sent_timestamp_ms: int | None
    group_id: str | None = None

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
            attributes={
                name: value["StringValue"]
                for name, value in raw.get("MessageAttributes", {}).items()
                if "StringValue" in value
            },
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


class DeadLetters:
    """The DLQ at ``dlq_url``; ``queue_url`` is where redriven messages go."""

    def __init__(self, sqs: Any, dlq_url: str, queue_url: str | None = None) -> None:
        self.sqs = sqs
        self.dlq_url = dlq_url
        self.queue_url = queue_url

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

    def find(self, message_id: str, scan_limit: int = 1000) -> DeadLetter | None:
        """The message with ``message_id``, scanning at most ``scan_limit`` messages."""
        raw = self._receive_upto(scan_limit, lambda batch: any(m["MessageId"] == message_id for m in batch))
        return next((DeadLetter.from_sqs(m) for m in raw if m["MessageId"] == message_id), None)

    def _receive_upto(
        self, limit: int, found: Callable[[list[dict[str, Any]]], bool]
    ) -> list[dict[str, Any]]:
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
            change_visibility(self.sqs, self.dlq_url, [(m["ReceiptHandle"], 0.0) for m in taken])
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

    def redrive(self, *, progress: Progress | None = None, server_side: bool = True) -> RedriveReport:
        """Send every DLQ message back to the task queue; see the module docstring."""
        if not self.queue_url:
            raise RedriveError("no task queue to redrive to: set TASKWORKER_QUEUE_URL or pass --queue-url")
        note = ""
        if server_side:
            try:
                return self._move_task(progress)
            except Exception as exc:
                note = f"StartMessageMoveTask unavailable ({_short(exc)}); moved by hand"
        report = self._move_by_hand(progress)
        report.note = note
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

    def _move_by_hand(self, progress: Progress | None) -> RedriveReport:
        report = RedriveReport("manual")
        while True:
            batch = self._receive(BATCH_SIZE, MOVE_VISIBILITY)
            if not batch:
                return report
            sent, failed = self._send_back(batch)
            lost = delete_messages(self.sqs, self.dlq_url, [m["ReceiptHandle"] for m in sent])
            report.moved += len(sent)
            if progress is not None:
                progress(len(sent))
            if lost:
                report.note = f"{len(lost)} messages were sent back but are still in the DLQ too"
            if failed:
                change_visibility(self.sqs, self.dlq_url, [(m["ReceiptHandle"], 0.0) for m in failed])
                report.failed_ids = [m["MessageId"] for m in failed]
                raise RedriveError(
                    f"{len(failed)} messages could not be sent back after {SEND_ATTEMPTS} attempts "
                    f"and remain in the DLQ ({report.moved} moved)"
                )

    def _send_back(
        self, batch: Sequence[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """SendMessageBatch to the task queue, retrying failed entries: (sent, not sent)."""
        pending = {str(i): m for i, m in enumerate(batch)}
        sent: list[dict[str, Any]] = []
        for attempt in range(SEND_ATTEMPTS):
            if attempt:
                time.sleep(0.2 * 2 ** (attempt - 1))
            entries = [self._entry(entry_id, m) for entry_id, m in pending.items()]
            try:
                response = self.sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            except Exception:
                continue
            for success in response.get("Successful", []):
                sent.append(pending.pop(success["Id"]))
            if not pending:
                break
        return sent, list(pending.values())

    def _entry(self, entry_id: str, raw: Mapping[str, Any]) -> dict[str, Any]:
        attributes = {k: v for k, v in raw.get("MessageAttributes", {}).items() if k not in REDRIVE_STRIPPED}
        entry: dict[str, Any] = {"Id": entry_id, "MessageBody": raw.get("Body", "")}
        if attributes:
            entry["MessageAttributes"] = {k: _attribute(v) for k, v in attributes.items()}
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


def _attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """A received message attribute in SendMessage's shape (the list fields are not sent)."""
    return {k: v for k, v in value.items() if k in ("DataType", "StringValue", "BinaryValue")}


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."

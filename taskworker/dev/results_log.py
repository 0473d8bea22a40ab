"""The dev terminal's live log: one readable line per result event, and per progress report.

The dev stack subscribes a queue to the result topic (raw delivery), so what is printed
is exactly what a real subscriber would receive. Progress is read where
``ctx.report_progress`` writes it, the status table (what ``GET /tasks/{task_id}`` shows):
between two result polls the log scans it for running tasks whose progress moved, so a
long task shows ``… report.generate 1b2c… running: 3/10 (30%) chunk 3`` as it goes. A
scan per second is fine for a local table; nothing of this runs outside ``taskworker dev``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from taskworker.handlers.settle import delete_messages
from taskworker.status import Progress, StatusTable, TaskStatus

Printer = Callable[[str], None]
MAX_WATCHED = 1_000
"""Progress times remembered per task, so an unchanged value is not printed twice."""


def describe(event: dict[str, Any]) -> str:
    """``✔ report.generate 1b2c… succeeded in 21 ms (attempt 1): {...}``"""
    ok = event.get("status") == "succeeded"
    head = (
        f"{'✔' if ok else '✘'} {event.get('task_type')} {str(event.get('task_id'))[:8]}… "
        f"{event.get('status')} in {event.get('duration_ms', 0):.0f} ms (attempt {event.get('attempt')})"
    )
    if ok and event.get("duplicate"):
        detail = "duplicate, stored result " + json.dumps(event.get("result"))
    elif ok:
        detail = json.dumps(event.get("result"))
    else:
        error = event.get("error") or {}
        detail = f"{error.get('type')}: {error.get('message')}"
    return f"{head}: {_clip(detail)}"


def describe_progress(status: TaskStatus, progress: Progress) -> str:
    """``… report.generate 1b2c… running: 3/10 (30%) chunk 3``"""
    done = progress.as_api_json()["done"]
    if progress.total:
        amount = f"{done}/{progress.as_api_json()['total']} ({100 * progress.done / progress.total:.0f}%)"
    else:
        amount = str(done)
    message = f" {_clip(progress.message, 80)}" if progress.message else ""
    return f"… {status.task_type} {status.task_id[:8]}… {status.status}: {amount}{message}"


class ResultsLog:
    """Polls the results queue (and, given ``status``, the progress of running tasks) in a
    background thread and prints each event and each new progress report."""

    def __init__(
        self, sqs: Any, queue_url: str, printer: Printer = print, *, status: StatusTable | None = None
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.printer = printer
        self.status = status
        self._progress_seen: dict[str, str] = {}
        self.events: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="results-log", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def request_stop(self) -> None:
        """Ask the poller to stop after its current poll, without waiting for it."""
        self._stop.set()

    def stop(self, timeout: float = 5.0) -> None:
        self.request_stop()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._poll()
                if self.status is not None:
                    self._poll_progress(self.status)
            except Exception:
                self._stop.wait(1)

    def _poll_progress(self, table: StatusTable) -> None:
        """Print each running task's progress once per report (its ``progress_at``)."""
        for status in _running_with_progress(table):
            progress = status.progress
            if progress is None or self._progress_seen.get(status.task_id) == progress.updated_at:
                continue
            if len(self._progress_seen) >= MAX_WATCHED:
                self._progress_seen.pop(next(iter(self._progress_seen)))
            self._progress_seen[status.task_id] = progress.updated_at
            self.printer(describe_progress(status, progress))

    def _poll(self) -> None:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        )
        messages = response.get("Messages", [])
        for message in messages:
            event = json.loads(message["Body"])
            self.events.append(event)
            self.printer(describe(event))
        if messages:
            delete_messages(self.sqs, self.queue_url, [m["ReceiptHandle"] for m in messages])


def _running_with_progress(table: StatusTable) -> list[TaskStatus]:
    """Every ``running`` status with a progress report (a Scan: local tables are small)."""
    found: list[TaskStatus] = []
    request: dict[str, Any] = {
        "TableName": table.table,
        "FilterExpression": "#status = :running AND attribute_exists(progress_at)",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {":running": {"S": "running"}},
    }
    while True:
        page = table.client.scan(**request)
        found += [TaskStatus.from_item(item) for item in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            return found
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _clip(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"

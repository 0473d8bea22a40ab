"""A live log of result events: one readable line per event published to the topic.

The dev stack subscribes a queue to the result topic (raw delivery), so what is printed
is exactly what a real subscriber would receive.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from taskworker.handlers.settle import delete_messages

Printer = Callable[[str], None]


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


class ResultsLog:
    """Polls the results queue in a background thread and prints each event."""

    def __init__(self, sqs: Any, queue_url: str, printer: Printer = print) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.printer = printer
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
            except Exception:
                self._stop.wait(1)

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


def _clip(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"

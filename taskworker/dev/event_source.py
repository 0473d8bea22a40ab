"""An emulation of Lambda's SQS event source mapping, for running ``app.lambda_handler``
locally exactly as Lambda would call it.

Like the real mapping it long-polls the queue, gathers up to ``batch_size`` messages
within ``batching_window`` seconds, invokes the handler with an event shaped like Lambda's
and a context whose remaining time counts down from the function timeout, then deletes
every message the response does not name in ``batchItemFailures``. A handler that raises
deletes nothing: SQS redelivers the whole batch, as it does on AWS.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from taskworker.testing.events import record_from_sqs_message
from taskworker.testing.lambda_context import lambda_context

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass(frozen=True)
class EventSourceConfig:
    batch_size: int = 10
    batching_window: float = 0.0
    function_timeout: float | None = None
    """Seconds; by default the slowest task's timeout plus 30 s, as the infra derives it."""
    wait_time_seconds: int = 1
    """Long-poll wait per receive; short, so stopping takes about this long at most."""


class LambdaEventSource:
    """Polls ``queue_url`` in a background thread and feeds ``handler`` Lambda-shaped events."""

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        handler: Handler,
        config: EventSourceConfig,
        slowest_task: float | None = None,
    ) -> None:
        if not 1 <= config.batch_size <= 10:
            raise ValueError("batch_size must be between 1 and 10 (the SQS receive limit)")
        self.sqs = sqs
        self.queue_url = queue_url
        self.handler = handler
        self.config = config
        self.invocations = 0
        self._function_timeout = config.function_timeout or max(60.0, (slowest_task or 0.0) + 30.0)
        self._arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lambda-event-source", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def request_stop(self) -> None:
        """Ask the poller to stop after its current poll, without waiting for it."""
        self._stop.set()

    def stop(self, timeout: float = 10.0) -> None:
        self.request_stop()
        self._thread.join(timeout)

    def poll_once(self) -> int:
        """Receive one batch and invoke the handler with it; returns the batch size."""
        messages = self._gather()
        if messages:
            self._invoke(messages)
        return len(messages)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception as exc:  # keep polling, like the managed mapping does
                logging.getLogger("taskworker.dev").warning(
                    "event source: poll failed: %s: %s", type(exc).__name__, exc
                )
                time.sleep(1)

    def _gather(self) -> list[dict[str, Any]]:
        """Up to ``batch_size`` messages, waiting at most ``batching_window`` for more."""
        messages = self._receive(self.config.batch_size, self.config.wait_time_seconds)
        if not messages or self.config.batching_window <= 0:
            return messages
        deadline = time.monotonic() + self.config.batching_window
        while len(messages) < self.config.batch_size and not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            messages += self._receive(self.config.batch_size - len(messages), min(1, int(left)))
        return messages

    def _receive(self, count: int, wait: int) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=wait,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def _invoke(self, messages: list[dict[str, Any]]) -> None:
        event = {"Records": [record_from_sqs_message(m, self._arn) for m in messages]}
        context = lambda_context(timeout_ms=int(self._function_timeout * 1000))
        self.invocations += 1
        try:
            response = self.handler(event, context)
        except Exception:
            return  # the whole batch comes back after its visibility timeout
        failed = {item.get("itemIdentifier") for item in (response or {}).get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        self._delete(done)

    def _delete(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)]
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)

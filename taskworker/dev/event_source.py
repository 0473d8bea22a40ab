"""An emulation of Lambda's SQS event source mapping, for running ``app.lambda_handler``
locally exactly as Lambda would call it.

Like the real mapping it long-polls the queue, gathers up to ``batch_size`` messages
within ``batching_window`` seconds, invokes the handler with an event shaped like Lambda's
and a context whose remaining time counts down from the function timeout, then deletes
every message the response does not name in ``batchItemFailures``. A handler that raises
deletes nothing: SQS redelivers the whole batch, as it does on AWS.

This is the one emulation: ``taskworker dev`` polls with it, the integration tests and the
benchmarks invoke through it, and the testing kit builds its records and contexts with it.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from taskworker.dev.resources import BATCH_SIZE
from taskworker.dev.resources import queue_arn as lookup_arn
from taskworker.handlers.settle import delete_messages

Handler = Callable[[dict[str, Any], Any], Any]
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"
LAMBDA_MAX_TIMEOUT_MS = 900_000
log = logging.getLogger("taskworker.dev")


@dataclass
class LambdaContext:
    """The attributes and method of ``aws_lambda_powertools.utilities.typing.LambdaContext``.

    The remaining time is measured from creation on ``clock`` (seconds), so a test can let
    time pass for real or drive a manual clock to make the deadline run out mid-batch. By
    default it has Lambda's longest timeout, 900 s: a shorter default would make the
    dispatcher refuse (as too close to the deadline) any task slower than it.
    """

    timeout_ms: int = LAMBDA_MAX_TIMEOUT_MS
    function_name: str = "taskworker-consumer"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    region: str = DEFAULT_REGION
    account: str = DEFAULT_ACCOUNT
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def __post_init__(self) -> None:
        self._started = self.clock()
        self.invoked_function_arn = (
            f"arn:aws:lambda:{self.region}:{self.account}:function:{self.function_name}"
        )
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = f"2026/01/01/[$LATEST]{uuid.uuid4().hex}"

    def get_remaining_time_in_millis(self) -> int:
        elapsed_ms = (self.clock() - self._started) * 1000
        return max(0, int(self.timeout_ms - elapsed_ms))


def lambda_record(message: Mapping[str, Any], queue_arn: str) -> dict[str, Any]:
    """Turn one ReceiveMessage entry into the record Lambda's event source would deliver.

    Receive with ``MessageSystemAttributeNames=["All"]`` and ``MessageAttributeNames=["All"]``.
    """
    given = message.get("MessageAttributes") or {}
    attributes = {name: _lambda_attribute_value(value) for name, value in given.items()}
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": attributes,
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3] if queue_arn.count(":") >= 5 else DEFAULT_REGION,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _lambda_attribute_value(value: Mapping[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value.get("DataType", "String"),
    }
    if "StringValue" in value:
        converted["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        converted["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return converted


@dataclass(frozen=True)
class EventSourceConfig:
    batch_size: int = BATCH_SIZE
    """Records per event; 1 by default, as the deployed event source mapping."""
    batching_window: float = 0.0
    function_timeout: float | None = None
    """Seconds; by default what the infra derives from the slowest task (``consumer_timeout``)."""
    wait_time_seconds: int = 1
    """Long-poll wait per receive; short, so stopping takes about this long at most."""


class LambdaEventSource:
    """Polls ``queue_url`` in a background thread and feeds ``handler`` Lambda-shaped events."""

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        handler: Handler,
        config: EventSourceConfig | None = None,
        *,
        function_timeout: float = LAMBDA_MAX_TIMEOUT_MS / 1000,
        queue_arn: str | None = None,
    ) -> None:
        self.config = config or EventSourceConfig()
        if not 1 <= self.config.batch_size <= 10:
            raise ValueError("batch_size must be between 1 and 10 (the SQS receive limit)")
        self.sqs = sqs
        self.queue_url = queue_url
        self.handler = handler
        self.invocations = 0
        self.undeleted = 0
        """Messages whose delete SQS refused: they come back after their visibility timeout."""
        self._function_timeout = self.config.function_timeout or function_timeout
        self.queue_arn = queue_arn or lookup_arn(sqs, queue_url)
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
            self.invoke(messages)
        return len(messages)

    def invoke(self, messages: Sequence[Mapping[str, Any]]) -> Any:
        """Invoke the handler with ``messages`` as one event, then delete what did not fail.

        Returns the handler's response; a handler that raises re-raises here after nothing
        was deleted (the whole batch comes back, as on AWS).
        """
        event = {"Records": [lambda_record(m, self.queue_arn) for m in messages]}
        context = LambdaContext(timeout_ms=int(self._function_timeout * 1000))
        self.invocations += 1
        response = self.handler(event, context)
        failed = {item.get("itemIdentifier") for item in (response or {}).get("batchItemFailures", [])}
        self._delete([m for m in messages if m["MessageId"] not in failed])
        return response

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception as exc:  # keep polling, like the managed mapping does
                log.warning("event source: poll failed: %s: %s", type(exc).__name__, exc, exc_info=True)
                self._stop.wait(1)

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

    def _delete(self, messages: Sequence[Mapping[str, Any]]) -> None:
        """Delete through the batch helper and check every entry: a refused delete is
        logged and counted, since that message will run a second time."""
        by_handle = {m["ReceiptHandle"]: m for m in messages}
        for handle in delete_messages(self.sqs, self.queue_url, list(by_handle)):
            self.undeleted += 1
            log.warning(
                "could not delete a processed message; it will be delivered again",
                extra={"message_id": by_handle[handle]["MessageId"]},
            )

"""The producer side: submit tasks to the queue, read their status, wait for results.

A backend that is not behind API Gateway (a cron job, another service, a notebook) sends
tasks with :class:`TaskClient`. It writes exactly the wire format the API does (body =
payload JSON, routing in message attributes, see :mod:`taskworker.messages`), so the
consumer cannot tell them apart. Given the app, it validates payloads against the task's
model *before* sending, so a typo fails in the caller, not later in the DLQ.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from taskworker.aws.batch import DEFAULT_POLICY, SEND_MESSAGES, RetryPolicy, call_batch
from taskworker.errors import TaskworkerError, validation_summary
from taskworker.handle import TaskHandle
from taskworker.messages import MAX_MESSAGE_BYTES, iso_from_epoch, message_size, send_attributes
from taskworker.settings import Settings

if TYPE_CHECKING:
    from taskworker.app import TaskApp
    from taskworker.status import StatusTable, TaskStatus

PROGRESS_STEP = 100
"""Tasks handed to the batch helper at a time, so ``progress`` moves during a long submit."""


class SubmitError(TaskworkerError):
    """A task could not be submitted; nothing about it was sent."""


class PayloadError(SubmitError, ValueError):
    """The payload does not fit the task: unknown type, invalid for its model, or too large."""


class PartialSubmitError(SubmitError):
    """Some tasks of a :meth:`TaskClient.submit_many` were not sent after retries.

    ``task_ids`` has the id of each sent task in input order and ``None`` for the others;
    ``failures`` maps each unsent task's index to the last reason SQS gave.
    """

    def __init__(self, task_ids: list[str | None], failures: dict[int, str]) -> None:
        self.task_ids = task_ids
        self.failures = failures
        listed = "; ".join(f"#{index}: {reason}" for index, reason in sorted(failures.items())[:10])
        more = f" (and {len(failures) - 10} more)" if len(failures) > 10 else ""
        super().__init__(f"{len(failures)} of {len(task_ids)} tasks were not sent: {listed}{more}")


MAX_DELAY_SECONDS = 900
"""SendMessage's DelaySeconds limit (15 minutes)."""


@dataclass(frozen=True, slots=True)
class TaskRequest:
    """One task to submit; ``payload`` is a dict, a pydantic model, or any JSON value."""

    task_type: str
    payload: Any
    idempotency_key: str | None = None
    delay_seconds: int | None = None
    correlation_id: str | None = None
    group_id: str | None = None
    """FIFO queues only: the message group (default: the task type)."""

    def __post_init__(self) -> None:
        """SQS's own limit, checked here so a bad delay fails before anything is sent."""
        delay = self.delay_seconds
        if delay is not None and (
            isinstance(delay, bool) or not isinstance(delay, int) or not 0 <= delay <= MAX_DELAY_SECONDS
        ):
            raise PayloadError(
                f"delay_seconds={delay!r}: SQS delays a message by a whole number of seconds "
                f"from 0 to {MAX_DELAY_SECONDS}"
            )

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> TaskRequest:
        """Build from ``{"task_type": ..., "payload": ..., "idempotency_key"?: ...}``."""
        if not isinstance(data.get("task_type"), str):
            raise PayloadError("each task needs a 'task_type' string")
        known = {"task_type", "payload", "idempotency_key", "delay_seconds", "correlation_id", "group_id"}
        unknown = set(data) - known
        if unknown:
            raise PayloadError(f"unknown task fields {sorted(unknown)}; expected some of {sorted(known)}")
        fields: dict[str, Any] = {key: data[key] for key in known if key in data}
        return cls(**fields)


class TaskClient:
    """Sends tasks to ``queue_url`` (default: ``TASKWORKER_QUEUE_URL``) and reads status."""

    def __init__(
        self,
        queue_url: str | None = None,
        *,
        app: TaskApp | None = None,
        settings: Settings | None = None,
        sqs: Any = None,
        dynamodb: Any = None,
        policy: RetryPolicy = DEFAULT_POLICY,
    ) -> None:
        self.app = app
        self.settings = settings or (app.settings if app is not None else Settings.from_env())
        self.queue_url = queue_url or self.settings.queue_url
        self._sqs = sqs
        self._dynamodb = dynamodb
        self.policy = policy

    @property
    def sqs(self) -> Any:
        if self._sqs is None:
            self._sqs = self.app.clients.sqs if self.app is not None else _client("sqs")
        return self._sqs

    @property
    def dynamodb(self) -> Any:
        if self._dynamodb is None:
            self._dynamodb = self.app.clients.dynamodb if self.app is not None else _client("dynamodb")
        return self._dynamodb

    def submit(
        self,
        task_type: str,
        payload: Any,
        *,
        idempotency_key: str | None = None,
        delay_seconds: int | None = None,
        correlation_id: str | None = None,
        group_id: str | None = None,
        output_model: type[BaseModel] | None = None,
    ) -> TaskHandle:
        """Send one task; returns its :class:`~taskworker.handle.TaskHandle` (``task_id``
        is the SQS MessageId). ``output_model`` is what ``handle.wait()`` parses the result
        into; given the app, it defaults to the task's declared output model."""
        request = TaskRequest(task_type, payload, idempotency_key, delay_seconds, correlation_id, group_id)
        return self.handle(self.submit_many([request])[0], task_type, output_model=output_model)

    def check(self, request: TaskRequest | Mapping[str, Any]) -> TaskRequest:
        """``request`` checked as :meth:`submit_many` checks it (fields, task type, payload,
        size) without sending anything; raises :class:`PayloadError`. Lets a caller name
        every bad task of a batch before it sends any."""
        item = request if isinstance(request, TaskRequest) else TaskRequest.from_mapping(request)
        self._entry(0, item)
        return item

    def handle(
        self, task_id: str, task_type: str | None = None, *, output_model: type[BaseModel] | None = None
    ) -> TaskHandle:
        """A handle to a task submitted earlier (say, by another process) from its id."""
        if output_model is None and self.app is not None and task_type is not None:
            task = self.app.registry.get(task_type)
            output_model = None if task is None else task.output_model
        return TaskHandle(task_id, self, output_model)

    def status(self, task_id: str) -> TaskStatus | None:
        """The task's status record (typed), or ``None`` if the table has none."""
        return self._status_table().get(task_id)

    def _status_table(self) -> StatusTable:
        from taskworker.status import status_table

        return status_table(self.settings.status_table, self.dynamodb)

    def cancel(self, task_id: str) -> bool:
        """Ask for ``task_id`` to be cancelled (see :meth:`TaskHandle.cancel`); ``False``
        when its status is already final."""
        return self._status_table().request_cancel(
            task_id, iso_from_epoch(time.time()), int(time.time()) + self.settings.status_ttl_seconds
        )

    def submit_many(
        self, requests: Iterable[TaskRequest | Mapping[str, Any]], *, progress: Any = None
    ) -> list[str]:
        """Send many tasks with SendMessageBatch (ten and 1 MiB per request); ids in input order.

        Every task is checked before anything is sent (:class:`PayloadError` names the
        first bad one). Failed entries are retried by the batch helper, refused ones
        (sender faults) are not; if some were not sent, :class:`PartialSubmitError` lists
        them with SQS's error code (the others *were* sent). ``progress(n)`` is called as
        tasks are handed over, at most :data:`PROGRESS_STEP` at a time.
        """
        items = [r if isinstance(r, TaskRequest) else TaskRequest.from_mapping(r) for r in requests]
        entries = [self._entry(index, request) for index, request in enumerate(items)]
        queue_url = self._require_queue()
        ids: list[str | None] = [None] * len(entries)
        failures: dict[int, str] = {}
        for start in range(0, len(entries), PROGRESS_STEP):
            step = list(range(start, min(start + PROGRESS_STEP, len(entries))))
            sent = call_batch(
                self.sqs, SEND_MESSAGES, queue_url, step, lambda i: entries[i], policy=self.policy
            )
            for index, answer in sent.succeeded:
                ids[index] = str(answer["MessageId"])
            failures.update((index, str(error)) for index, error in sent.failed)
            if progress is not None:
                progress(len(step))
        if failures:
            raise PartialSubmitError(ids, failures)
        return [task_id for task_id in ids if task_id is not None]

    def get_status(self, task_id: str) -> dict[str, Any] | None:
        """The task's status as the API returns it, or ``None`` if the table has no record."""
        status = self.status(task_id)
        return None if status is None else dict(status.as_api_json())

    def _require_queue(self) -> str:
        if not self.queue_url:
            raise SubmitError("no queue URL: set TASKWORKER_QUEUE_URL or pass queue_url")
        return self.queue_url

    def _entry(self, index: int, request: TaskRequest) -> dict[str, Any]:
        body = self._body(request)
        attributes = send_attributes(
            request.task_type, idempotency_key=request.idempotency_key, correlation_id=request.correlation_id
        )
        size = message_size(body, attributes)
        if size > MAX_MESSAGE_BYTES:
            raise PayloadError(
                f"task #{index} ({request.task_type}) is {size:,} bytes; SQS accepts at most "
                f"{MAX_MESSAGE_BYTES:,}: store large inputs elsewhere (e.g. S3) and send a reference"
            )
        entry: dict[str, Any] = {
            "MessageBody": body,
            "MessageAttributes": {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        }
        if request.delay_seconds:
            entry["DelaySeconds"] = int(request.delay_seconds)
        if (self.queue_url or "").endswith(".fifo"):
            entry["MessageGroupId"] = request.group_id or request.task_type
            if request.idempotency_key:
                entry["MessageDeduplicationId"] = request.idempotency_key[:128]
        return entry

    def _body(self, request: TaskRequest) -> str:
        """The payload as JSON, exactly as given; validated first when the app is known."""
        payload = request.payload
        body = payload.model_dump_json(by_alias=True) if isinstance(payload, BaseModel) else _dumps(payload)
        if self.app is None:
            return body
        task = self.app.registry.get(request.task_type)
        if task is None:
            known = ", ".join(sorted(self.app.registry)) or "none"
            raise PayloadError(f"unknown task type {request.task_type!r}; this app has: {known}")
        try:
            task.input_model.model_validate_json(body)  # as the consumer will: from the JSON text
        except ValidationError as exc:
            raise PayloadError(
                f"invalid payload for {request.task_type}: {validation_summary(exc)}"
            ) from None
        return body


def _dumps(payload: Any) -> str:
    try:
        return json.dumps(payload, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise PayloadError(f"payload is not JSON-serializable: {exc}") from None


def _client(service: str) -> Any:
    import boto3

    return boto3.client(service)  # type: ignore[call-overload]

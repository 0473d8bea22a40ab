"""The producer side: submit tasks to the queue, read their status, wait for results.

A backend that is not behind API Gateway (a cron job, another service, a notebook) sends
tasks with :class:`TaskClient`. It writes exactly the wire format the API does (body =
payload JSON, routing in message attributes, see :mod:`taskworker.messages`), so the
consumer cannot tell them apart. Given the app, it validates payloads against the task's
model *before* sending, so a typo fails in the caller, not later in the DLQ.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from taskworker.aws.batch import DEFAULT_POLICY, SEND_MESSAGES, RetryPolicy, call_batch
from taskworker.errors import TaskNotFoundError, TaskworkerError, validation_summary
from taskworker.handle import TaskHandle
from taskworker.later import MAX_DELAY_SECONDS, OneTimeSchedule, Scheduler, queue_arn, timing
from taskworker.messages import MAX_MESSAGE_BYTES, envelope, iso_from_epoch, message_size, send_attributes
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
    task_id: str | None = None
    """Chosen before sending (follow-ups, scheduled tasks); otherwise the SQS MessageId."""
    parent_task_id: str | None = None
    """The task that submitted this one (``ctx.submit``)."""

    def attributes(self) -> dict[str, str]:
        """The String attributes its message carries (the wire format)."""
        return send_attributes(
            self.task_type,
            idempotency_key=self.idempotency_key,
            correlation_id=self.correlation_id,
            task_id=self.task_id,
            parent_task_id=self.parent_task_id,
        )

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
    """Sends tasks and reads their status.

    Given the app, each task goes to its own queue's URL (``settings.url_of``: the
    ``TASKWORKER_QUEUE_URLS`` entry of the queue the task is declared on, else ``queue_url``);
    without it, every task goes to ``queue_url`` (default: ``TASKWORKER_QUEUE_URL``).
    """

    def __init__(
        self,
        queue_url: str | None = None,
        *,
        app: TaskApp | None = None,
        settings: Settings | None = None,
        sqs: Any = None,
        dynamodb: Any = None,
        scheduler: Any = None,
        policy: RetryPolicy = DEFAULT_POLICY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        base = settings or (app.settings if app is not None else Settings.from_env())
        self.settings = base.merged(queue_url=queue_url)
        """``queue_url``, when given, is the URL of every queue without a ``queue_urls`` entry."""
        self.queue_url = self.settings.queue_url
        self._sqs = sqs
        self._dynamodb = dynamodb
        self._scheduler = scheduler
        self.policy = policy
        self.clock = clock
        """Epoch seconds; what ``at=`` is measured against (tests inject one)."""

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

    @property
    def scheduler(self) -> Scheduler:
        """One-time schedules in the configured group, created as the configured role."""
        if self._scheduler is None:
            self._scheduler = self.app.clients.scheduler if self.app is not None else _client("scheduler")
        return Scheduler(
            self._scheduler, group=self.settings.schedule_group, role_arn=self.settings.scheduler_role_arn
        )

    def submit(
        self,
        task_type: str,
        payload: Any,
        *,
        idempotency_key: str | None = None,
        delay_seconds: int | None = None,
        delay: timedelta | None = None,
        at: datetime | None = None,
        correlation_id: str | None = None,
        group_id: str | None = None,
        output_model: type[BaseModel] | None = None,
    ) -> TaskHandle:
        """Send one task; returns its :class:`~taskworker.handle.TaskHandle` (``task_id``
        is the SQS MessageId). ``output_model`` is what ``handle.wait()`` parses the result
        into; given the app, it defaults to the task's declared output model.

        ``delay`` (a timedelta) or ``at`` (an aware datetime) send it later: up to 15
        minutes ahead with SQS's delay, beyond that through a one-time EventBridge
        Scheduler schedule (see :mod:`taskworker.later`; its task id is a uuid).
        """
        request = TaskRequest(task_type, payload, idempotency_key, delay_seconds, correlation_id, group_id)
        return self.submit_request(request, delay=delay, at=at, output_model=output_model)

    def submit_request(
        self,
        request: TaskRequest,
        *,
        delay: timedelta | None = None,
        at: datetime | None = None,
        output_model: type[BaseModel] | None = None,
    ) -> TaskHandle:
        """Send one :class:`TaskRequest` now, after ``delay`` or at ``at`` (see :meth:`submit`)."""
        when = timing(self.clock(), delay_seconds=request.delay_seconds, delay=delay, at=at)
        if when.fire_at is None:
            task_id = self.submit_many([replace(request, delay_seconds=when.delay_seconds)])[0]
        else:
            task_id = self._schedule(request, when.fire_at)
        return self.handle(task_id, request.task_type, output_model=output_model)

    def _schedule(self, request: TaskRequest, fire_at: datetime) -> str:
        """A one-time schedule sending the task at ``fire_at``; its status says ``scheduled``.

        The status is written first, so a failing status table stops the submit before
        anything is scheduled; a schedule that cannot be created ends that status
        ``cancelled`` (the task will never run) and raises.
        """
        request = replace(request, task_id=request.task_id or str(uuid.uuid4()))
        assert request.task_id is not None
        body = envelope(self._body(request), request.attributes())
        size = len(body.encode())
        if size > MAX_MESSAGE_BYTES:
            raise PayloadError(
                f"{request.task_type} is {size:,} bytes; SQS accepts at most {MAX_MESSAGE_BYTES:,}"
            )
        url = self._route(request)
        fifo = url.endswith(".fifo")
        schedule = OneTimeSchedule(
            request.task_id,
            fire_at,
            queue_arn(url, self.sqs),
            body,
            group_id=(request.group_id or self._message_group(request.task_type)) if fifo else None,
        )
        table = self._status_table() if self.settings.status_table else None
        if table is not None:
            table.put_if_newer(self._scheduled_status(request, request.task_id, fire_at))
        try:
            self.scheduler.create(schedule)
        except Exception:
            if table is not None:  # best effort: the caller must see why scheduling failed
                with contextlib.suppress(Exception):
                    table.cancel_scheduled(request.task_id, iso_from_epoch(self.clock()))
            raise
        return request.task_id

    def _scheduled_status(self, request: TaskRequest, task_id: str, fire_at: datetime) -> TaskStatus:
        from taskworker.status import TaskStatus

        now = iso_from_epoch(self.clock())
        return TaskStatus(
            task_id=task_id,
            task_type=request.task_type,
            status="scheduled",
            attempt=0,
            started_at=now,
            updated_at=now,
            expires_at=int(fire_at.timestamp()) + self.settings.status_ttl_seconds,
            correlation_id=request.correlation_id,
            parent_task_id=request.parent_task_id,
            scheduled_for=iso_from_epoch(fire_at.timestamp()),
        )

    def check(self, request: TaskRequest | Mapping[str, Any]) -> TaskRequest:
        """``request`` checked as :meth:`submit_many` checks it (fields, task type, payload,
        size) without sending anything; raises :class:`PayloadError`. Lets a caller name
        every bad task of a batch before it sends any."""
        item = request if isinstance(request, TaskRequest) else TaskRequest.from_mapping(request)
        self._entry(0, item, self._route(item))
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
        """Ask for ``task_id`` to be cancelled (see :meth:`TaskHandle.cancel`): ``True`` when
        the request is recorded, ``False`` when its status is already final; raises
        :class:`~taskworker.errors.TaskNotFoundError` when the table has no record of it.
        A task still waiting for its one-time schedule has the schedule deleted and ends
        ``cancelled`` at once."""
        table = self._status_table()
        deleted = self.settings.schedule_group is not None and self.scheduler.delete(task_id)
        now = iso_from_epoch(self.clock())
        result = table.request_cancel(task_id, now)
        if result.answer == "not_found":
            raise TaskNotFoundError(task_id)
        if deleted:
            table.cancel_scheduled(task_id, now)
        return result.answer == "requested"

    def submit_many(
        self, requests: Iterable[TaskRequest | Mapping[str, Any]], *, progress: Any = None
    ) -> list[str]:
        """Send many tasks with SendMessageBatch (ten and 1 MiB per request); ids in input order.

        Each task goes to its own queue (see the class docstring): the tasks are grouped
        per queue URL, each group batched on its own.

        Every task is checked before anything is sent (:class:`PayloadError` names the
        first bad one). Failed entries are retried by the batch helper, refused ones
        (sender faults) are not; if some were not sent, :class:`PartialSubmitError` lists
        them with SQS's error code (the others *were* sent). ``progress(n)`` is called as
        tasks are handed over, at most :data:`PROGRESS_STEP` at a time.
        """
        items = [r if isinstance(r, TaskRequest) else TaskRequest.from_mapping(r) for r in requests]
        routes = [self._route(request) for request in items]
        entries = [self._entry(index, request, routes[index]) for index, request in enumerate(items)]
        ids: list[str | None] = [None] * len(entries)
        failures: dict[int, str] = {}
        for queue_url, indexes in _by_queue(routes).items():
            for start in range(0, len(indexes), PROGRESS_STEP):
                step = indexes[start : start + PROGRESS_STEP]
                sent = call_batch(
                    self.sqs, SEND_MESSAGES, queue_url, step, lambda i: entries[i], policy=self.policy
                )
                for index, answer in sent.succeeded:
                    ids[index] = items[index].task_id or str(answer["MessageId"])
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

    def _route(self, request: TaskRequest) -> str:
        """The URL of the queue the task travels on (its declared queue's, given the app).

        Without the app a client knows no queues: every task goes to its one URL.
        """
        if self.app is None:
            if not self.queue_url:
                raise SubmitError("no queue URL: set TASKWORKER_QUEUE_URL or pass queue_url")
            return self.queue_url
        queue = self.app.queue_of(request.task_type).name
        url = self.settings.url_of(queue)
        if not url:
            raise SubmitError(
                f"no URL for queue {queue!r} (task {request.task_type!r}): set TASKWORKER_QUEUE_URLS "
                f'(a JSON object such as {{"{queue}": "https://sqs..."}}) or TASKWORKER_QUEUE_URL, '
                "or pass queue_url"
            )
        return url

    def _entry(self, index: int, request: TaskRequest, queue_url: str) -> dict[str, Any]:
        body = self._body(request)
        attributes = request.attributes()
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
        if queue_url.endswith(".fifo"):  # the target queue's kind, whatever the default URL's
            entry["MessageGroupId"] = request.group_id or self._message_group(request.task_type)
            # the deployed FIFO queues deduplicate by id, not content: every send needs one
            dedup = request.idempotency_key or request.task_id or str(uuid.uuid4())
            entry["MessageDeduplicationId"] = dedup[:128]
        return entry

    def _message_group(self, task_type: str) -> str:
        """A FIFO message's group when the request names none (:attr:`TaskDefinition.group`;
        without the app, the task type)."""
        task = self.app.registry.get(task_type) if self.app is not None else None
        return task.group if task is not None else task_type

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


def _by_queue(routes: list[str]) -> dict[str, list[int]]:
    """The indexes of the tasks bound for each queue URL, in input order."""
    grouped: dict[str, list[int]] = {}
    for index, url in enumerate(routes):
        grouped.setdefault(url, []).append(index)
    return grouped


def _dumps(payload: Any) -> str:
    try:
        return json.dumps(payload, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise PayloadError(f"payload is not JSON-serializable: {exc}") from None


def _client(service: str) -> Any:
    import boto3

    return boto3.client(service)  # type: ignore[call-overload]

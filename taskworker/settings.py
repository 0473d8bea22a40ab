"""One typed settings object, read from ``TASKWORKER_*`` environment variables.

Each optional feature (dead-letter sending, result events, status, idempotency, metrics)
is off while its variable is unset, so a bare ``TaskApp`` runs with no AWS at all.
Endpoints are deliberately *not* settings: boto3 already honours ``AWS_ENDPOINT_URL`` and
its per-service variants, and duplicating that would only create two ways to be wrong.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

PREFIX = "TASKWORKER_"


@dataclass(frozen=True, slots=True)
class Settings:
    queue_url: str | None = None
    """The queue this process consumes; for a producer, the queue of every task whose own
    queue has no entry in ``queue_urls`` (a one-queue app needs nothing else)."""
    queue_urls: dict[str, str] | None = None
    """Every declared queue's URL by queue name (``TASKWORKER_QUEUE_URLS``, a JSON object),
    so producers and follow-ups route each task to its own queue."""
    queue: str | None = None
    """The name of the queue this consumer drains (``TASKWORKER_QUEUE``)."""
    dlq_url: str | None = None
    result_topic_arn: str | None = None
    status_table: str | None = None
    idempotency_table: str | None = None
    metrics_namespace: str | None = None
    max_receive_count: int | None = None
    """Receives allowed before SQS redrives to the DLQ; read from the queue when unset."""
    status_ttl_seconds: int = 7 * 24 * 3600
    idempotency_expires_seconds: int = 3600
    """How long a completed task's result answers duplicates (powertools' ``expires_after_seconds``)."""
    deadline_margin_seconds: float = 2.0
    """Kept free beyond a task's ``timeout`` before it may start, so it can finish cleanly."""
    settle_seconds: float = 2.0
    """Kept free at the end of a Lambda invocation for the calls after the batch (DLQ,
    result events, status, visibility changes): no task starts into this time."""
    backoff_base_seconds: float = 5.0
    backoff_max_seconds: float = 900.0
    scheduler_role_arn: str | None = None
    """The role EventBridge Scheduler assumes to send a task more than 15 minutes ahead
    (``TASKWORKER_SCHEDULER_ROLE_ARN``); see :mod:`taskworker.later`."""
    schedule_group: str | None = None
    """The schedule group one-time schedules are created in (``TASKWORKER_SCHEDULE_GROUP``)."""
    log_payloads: bool = False
    """Add the message body to failure logs; off by default, payloads may hold personal data."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every field from ``TASKWORKER_<FIELD>``; empty values count as unset."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = env.get(PREFIX + field.name.upper(), "").strip()
            if raw:
                values[field.name] = _coerce(field.name, str(field.type), raw)
        return cls(**values)

    @property
    def own_queue(self) -> str:
        """The queue ``queue_url`` and ``dlq_url`` describe: the one ``queue`` names, else
        the default queue (as before queues could be declared)."""
        from taskworker.queues import DEFAULT_QUEUE

        return self.queue or DEFAULT_QUEUE

    def url_of(self, queue: str) -> str | None:
        """The URL of the queue named ``queue``: its ``queue_urls`` entry, else ``queue_url``."""
        return (self.queue_urls or {}).get(queue) or self.queue_url

    def merged(self, **overrides: Any) -> Settings:
        """A copy with the non-``None`` overrides applied (CLI options, tests)."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def _coerce(name: str, type_name: str, raw: str) -> Any:
    try:
        if type_name.startswith("dict"):
            return _parse_urls(raw)
        if type_name.startswith("int"):
            return int(raw)
        if type_name.startswith("float"):
            return float(raw)
        if type_name.startswith("bool"):
            return _parse_bool(raw)
    except ValueError as exc:
        raise ValueError(f"{PREFIX}{name.upper()}={raw!r}: {exc}") from None
    return raw


def _parse_urls(raw: str) -> dict[str, str]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"expected a JSON object of queue name to URL ({exc})") from None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError("expected a JSON object of queue name to URL")
    return value


def _parse_bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true/false")

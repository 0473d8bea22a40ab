"""Tasks that run later: a short wait is SQS's ``DelaySeconds``, a long one a one-time
EventBridge Scheduler schedule.

SQS delays a message by at most 15 minutes. Anything later becomes a schedule
``at(yyyy-mm-ddThh:mm:ss)`` (UTC, flexible time window off, deleted after it fires) whose
target is the task's queue. Scheduler's SQS target sets the message body only (its
``SqsParameters`` carry nothing but ``MessageGroupId``), so the body is an
:func:`~taskworker.messages.envelope` holding the attributes a producer would have set;
the consumer opens it on arrival. The task id is chosen here (a uuid) so the caller holds
it at once; the status record says ``scheduled`` with the time until the task starts.

The schedule is named after the task id, so submitting the same task twice (a retried
parent's follow-up) finds the first schedule and creates no second one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from taskworker.errors import TaskworkerError
from taskworker.status import error_code

MAX_DELAY_SECONDS = 900
"""SendMessage's DelaySeconds limit (15 minutes)."""

SCHEDULE_PREFIX = "tw-"
"""One-time schedule names: this prefix and the task id (Scheduler allows 64 characters)."""


class ScheduleError(TaskworkerError, ValueError):
    """A time or delay that cannot be honoured, or a schedule that cannot be created."""


@dataclass(frozen=True, slots=True)
class Timing:
    """When a task is sent: now or after ``delay_seconds`` (SQS), or at ``fire_at`` (Scheduler)."""

    delay_seconds: int | None = None
    fire_at: datetime | None = None


def timing(
    now: float,
    *,
    delay_seconds: int | None = None,
    delay: timedelta | None = None,
    at: datetime | None = None,
) -> Timing:
    """Resolve the one way the caller said when; ``now`` is epoch seconds (the client's clock).

    A delay or time up to 15 minutes ahead rounds up to whole seconds of SQS delay; later
    ones fire at the given second, truncated to it (Scheduler's resolution).
    """
    given = [
        name
        for name, value in (("delay_seconds", delay_seconds), ("delay", delay), ("at", at))
        if value is not None
    ]
    if len(given) > 1:
        raise ScheduleError(f"give one of delay_seconds, delay and at, not {' and '.join(given)}")
    if delay_seconds is not None or (delay is None and at is None):
        return Timing(delay_seconds=delay_seconds)
    if delay is not None:
        if not isinstance(delay, timedelta):
            raise ScheduleError(f"delay must be a datetime.timedelta, not {type(delay).__name__}")
        if delay < timedelta(0):
            raise ScheduleError(f"delay={delay}: a task cannot be sent into the past")
        seconds = delay.total_seconds()
    else:
        if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
            raise ScheduleError(f"at={at!r}: give a timezone-aware datetime (e.g. tzinfo=UTC)")
        seconds = at.timestamp() - now
        if seconds < -60:
            raise ScheduleError(f"at={at.isoformat()} is in the past")
    if seconds <= MAX_DELAY_SECONDS:
        return Timing(delay_seconds=max(0, math.ceil(seconds)) or None)
    return Timing(fire_at=datetime.fromtimestamp(math.floor(now + seconds), UTC))


def at_expression(when: datetime) -> str:
    """Scheduler's one-time expression for ``when``, in UTC."""
    return "at(" + when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") + ")"


def schedule_name(task_id: str) -> str:
    return SCHEDULE_PREFIX + task_id


def queue_arn(queue_url: str, sqs: Any) -> str:
    """The ARN a Scheduler target needs, from the queue URL.

    An AWS URL (``https://sqs.REGION.amazonaws.com/ACCOUNT/NAME``) says it all; any other
    endpoint (moto, LocalStack, ``taskworker dev``) is asked with GetQueueAttributes.
    """
    parts = queue_url.split("/")
    host = parts[2] if len(parts) == 5 else ""
    labels = host.split(".")
    if len(labels) >= 4 and labels[0] == "sqs" and labels[2] == "amazonaws":
        partition = "aws-cn" if host.endswith(".cn") else "aws"
        return f"arn:{partition}:sqs:{labels[1]}:{parts[3]}:{parts[4]}"
    answer = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    return str(answer["Attributes"]["QueueArn"])


@dataclass(frozen=True, slots=True)
class OneTimeSchedule:
    """What Scheduler is asked to do for one task."""

    task_id: str
    fire_at: datetime
    queue_arn: str
    body: str
    group_id: str | None = None
    """FIFO queues: the message group (Scheduler's ``SqsParameters.MessageGroupId``)."""


class Scheduler:
    """Creates and deletes one-time schedules in ``group`` as ``role_arn`` (the role
    Scheduler assumes to send to the queue)."""

    def __init__(self, client: Any, *, group: str | None, role_arn: str | None) -> None:
        self.client = client
        self.group = group
        self.role_arn = role_arn

    def create(self, schedule: OneTimeSchedule) -> bool:
        """Create the schedule; ``False`` when it already exists (the task was submitted)."""
        if not self.role_arn or not self.group:
            raise ScheduleError(
                "a task more than 15 minutes ahead needs EventBridge Scheduler: set "
                "TASKWORKER_SCHEDULER_ROLE_ARN and TASKWORKER_SCHEDULE_GROUP (the infra does)"
            )
        target: dict[str, Any] = {"Arn": schedule.queue_arn, "RoleArn": self.role_arn, "Input": schedule.body}
        if schedule.group_id is not None:
            target["SqsParameters"] = {"MessageGroupId": schedule.group_id}
        try:
            self.client.create_schedule(
                Name=schedule_name(schedule.task_id),
                GroupName=self.group,
                ScheduleExpression=at_expression(schedule.fire_at),
                ScheduleExpressionTimezone="UTC",
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                Target=target,
            )
        except Exception as exc:
            if error_code(exc) == "ConflictException":
                return False
            raise
        return True

    def delete(self, task_id: str) -> bool:
        """Delete the task's schedule; ``False`` when there is none (fired, or never made)."""
        if not self.group:
            return False
        try:
            self.client.delete_schedule(Name=schedule_name(task_id), GroupName=self.group)
        except Exception as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return False
            raise
        return True

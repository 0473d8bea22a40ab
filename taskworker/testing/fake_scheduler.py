"""An in-memory stand-in for ``boto3.client("scheduler")``: the calls taskworker makes.

It checks requests as EventBridge Scheduler does where taskworker could get them wrong
(expression syntax, the time window, the target's ARN and role), answers with Scheduler's
error codes, and fires due one-time schedules on demand (:meth:`FakeScheduler.fire_due`)
by sending their ``Input`` to the target queue, as Scheduler's SQS target does.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from taskworker.schedules import Expression, ExpressionError


class FakeScheduler:
    """``create_schedule``, ``get_schedule``, ``delete_schedule``; ``schedules`` holds the
    requests by (group, name)."""

    def __init__(self) -> None:
        self.schedules: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def create_schedule(self, **request: Any) -> dict[str, Any]:
        key = (request.get("GroupName", "default"), request["Name"])
        try:
            Expression.parse(request["ScheduleExpression"])
        except ExpressionError as exc:
            raise _error("ValidationException", str(exc), "CreateSchedule") from None
        target = request.get("Target", {})
        if request.get("FlexibleTimeWindow", {}).get("Mode") not in {"OFF", "FLEXIBLE"}:
            raise _error("ValidationException", "FlexibleTimeWindow.Mode is required", "CreateSchedule")
        if not str(target.get("Arn", "")).startswith("arn:") or not target.get("RoleArn"):
            raise _error("ValidationException", "Target needs an Arn and a RoleArn", "CreateSchedule")
        with self._lock:
            if key in self.schedules:
                raise _error("ConflictException", f"Schedule {key[1]} already exists.", "CreateSchedule")
            self.schedules[key] = dict(request)
        return {"ScheduleArn": f"arn:aws:scheduler:us-east-1:123456789012:schedule/{key[0]}/{key[1]}"}

    def get_schedule(self, *, Name: str, GroupName: str = "default") -> dict[str, Any]:  # noqa: N803
        with self._lock:
            request = self.schedules.get((GroupName, Name))
        if request is None:
            raise _error("ResourceNotFoundException", f"Schedule {Name} does not exist.", "GetSchedule")
        return {**request, "GroupName": GroupName}

    def delete_schedule(self, *, Name: str, GroupName: str = "default") -> dict[str, Any]:  # noqa: N803
        with self._lock:
            if self.schedules.pop((GroupName, Name), None) is None:
                raise _error(
                    "ResourceNotFoundException", f"Schedule {Name} does not exist.", "DeleteSchedule"
                )
        return {}

    def fire_due(self, sqs: Any, now: datetime) -> int:
        """Send every one-time schedule due at ``now`` to its queue (then delete it when
        ``ActionAfterCompletion`` says so); how many were sent."""
        due = []
        with self._lock:
            for key, request in list(self.schedules.items()):
                when = Expression.parse(request["ScheduleExpression"]).once
                if when is not None and when.replace(tzinfo=UTC) <= now:
                    due.append(request)
                    if request.get("ActionAfterCompletion") == "DELETE":
                        del self.schedules[key]
        for request in due:
            target = request["Target"]
            url = sqs.get_queue_url(QueueName=target["Arn"].rsplit(":", 1)[-1])["QueueUrl"]
            extra = {}
            if "SqsParameters" in target:
                extra = {"MessageGroupId": target["SqsParameters"]["MessageGroupId"]}
                extra["MessageDeduplicationId"] = request["Name"]
            sqs.send_message(QueueUrl=url, MessageBody=target["Input"], **extra)
        return len(due)


def _error(code: str, message: str, operation: str) -> Exception:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": message}}, operation)

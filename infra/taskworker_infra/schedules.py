"""EventBridge Scheduler for one app: its ``app.schedule`` declarations, and one-time
schedules for tasks submitted more than 15 minutes ahead.

- a schedule group per app (one-time schedules are created in it at run time, so the
  consumer may create schedules there and nowhere else);
- a role Scheduler assumes that may only ``sqs:SendMessage`` to the app's task queues, and only
  for schedules of this account;
- one ``CfnSchedule`` per ``app.schedule``, flexible time window off, whose target input
  is the wire format :func:`taskworker.messages.envelope` writes (Scheduler's SQS target
  cannot set message attributes; the consumer opens the envelope on arrival).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from typing import Any

from aws_cdk import Names, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from taskworker.messages import envelope

from .nag import acknowledge, arn_prefix

__all__ = ["TaskSchedules"]


class TaskSchedules(Construct):
    """The group, the role and the declared schedules; :meth:`grant_one_time` and
    :meth:`environment` give a consumer what it needs for one-time schedules."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        schedules: Sequence[Any],
        queues: Mapping[str, sqs.IQueue],
        fifo_queues: Set[str],
        queue_of: Mapping[str, str],
    ) -> None:
        """``queues`` by name (one-time schedules may target any of them), the names of the
        FIFO ones, and each task type's queue name (where a periodic schedule sends)."""
        super().__init__(scope, construct_id)
        self.group_name = Names.unique_resource_name(self, max_length=64, separator="-")
        """Named at synth time (not a ``Ref``) so the grants and their acknowledgment can say it."""
        self.group = scheduler.CfnScheduleGroup(self, "Group", name=self.group_name)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            ),
            description="EventBridge Scheduler sends the app's scheduled tasks to its queue",
        )
        for queue in queues.values():
            queue.grant(self.role, "sqs:SendMessage")
        self.schedules = [
            self._schedule(spec, queues[queue_of[spec.task_type]], queue_of[spec.task_type] in fifo_queues)
            for spec in schedules
        ]

    def _schedule(self, spec: Any, queue: sqs.IQueue, fifo: bool) -> scheduler.CfnSchedule:
        target: dict[str, Any] = {
            "arn": queue.queue_arn,
            "roleArn": self.role.role_arn,
            "input": envelope(spec.body, {"task_type": spec.task_type}),
        }
        if fifo:
            target["sqsParameters"] = {"messageGroupId": spec.task_type}
        schedule = scheduler.CfnSchedule(
            self,
            f"Schedule-{spec.name}",
            name=spec.name,
            group_name=self.group_name,
            schedule_expression=spec.expression.text,
            schedule_expression_timezone=spec.timezone,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=target,
        )
        schedule.add_dependency(self.group)
        return schedule

    def grant_one_time(self, grantee: iam.IGrantable) -> None:
        """Create (and, for cancel, delete) schedules in this group, passing this role only."""
        schedules = f"{arn_prefix(self, 'scheduler')}:schedule/{self.group_name}/*"
        stack = Stack.of(self)
        resource = stack.format_arn(
            service="scheduler", resource="schedule", resource_name=f"{self.group_name}/*"
        )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["scheduler:CreateSchedule", "scheduler:DeleteSchedule"], resources=[resource]
            )
        )
        self.role.grant_pass_role(grantee)
        acknowledge(
            grantee.grant_principal if isinstance(grantee.grant_principal, Construct) else self,
            f"IAM5[Resource::{schedules}]",
            "one-time schedules are named after task ids at run time; the group limits them to this app",
        )

    def environment(self) -> dict[str, str]:
        """The consumer's settings for one-time schedules."""
        return {
            "TASKWORKER_SCHEDULER_ROLE_ARN": self.role.role_arn,
            "TASKWORKER_SCHEDULE_GROUP": self.group_name,
        }

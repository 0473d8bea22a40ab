"""The synthesized schedules: a group per app, one schedule per ``app.schedule`` with the
envelope as its input, a role that may only send to the task queue, and the consumer's
rights for one-time schedules and follow-ups."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("aws_cdk")

from tests.infra.helpers import arn, logical_id, only, resources, statements


def consumer_policy(template: dict[str, Any]) -> list[dict[str, Any]]:
    policy = logical_id(template, "AWS::IAM::Policy", "ConsumerRole")
    return statements(template["Resources"][policy]["Properties"]["PolicyDocument"])


def test_each_declared_schedule_sends_the_envelope_to_the_task_queue(synthesis: Any) -> None:
    template = synthesis.templates["Default"]
    _, group = only(template, "AWS::Scheduler::ScheduleGroup")
    _, schedule = only(template, "AWS::Scheduler::Schedule")
    queue = logical_id(template, "AWS::SQS::Queue", "QueuesQueue")
    role = logical_id(template, "AWS::IAM::Role", "SchedulesRole")
    assert schedule["Name"] == "nightly-cleanup"
    assert schedule["GroupName"] == group["Name"]
    assert schedule["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == "Europe/Berlin"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    target = schedule["Target"]
    assert target["Arn"] == arn(queue)
    assert target["RoleArn"] == arn(role)
    assert json.loads(target["Input"]) == {
        "taskworker_envelope": 1,
        "task_type": "cleanup",
        "payload": {"older_than_days": 7},
    }


def test_the_scheduler_role_may_only_send_to_the_task_queue(synthesis: Any) -> None:
    template = synthesis.templates["Default"]
    role_id = logical_id(template, "AWS::IAM::Role", "SchedulesRole")
    role = template["Resources"][role_id]["Properties"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    policies = [p for p in resources(template, "AWS::IAM::Policy").values() if {"Ref": role_id} in p["Roles"]]
    [policy] = policies
    queue = logical_id(template, "AWS::SQS::Queue", "QueuesQueue")
    assert statements(policy["PolicyDocument"]) == [
        {"Action": ["sqs:SendMessage"], "Effect": "Allow", "Resource": arn(queue)}
    ]


@pytest.mark.parametrize("variant", ["Default", "Worker"])
def test_consumers_may_schedule_in_their_group_and_send_follow_ups(synthesis: Any, variant: str) -> None:
    template = synthesis.templates[variant]
    _, group = only(template, "AWS::Scheduler::ScheduleGroup")
    role_id = logical_id(template, "AWS::IAM::Role", "SchedulesRole")
    queue = logical_id(template, "AWS::SQS::Queue", "QueuesQueue")
    policy_id = logical_id(
        template, "AWS::IAM::Policy", "TaskRole" if variant == "Worker" else "ConsumerRole"
    )
    found = statements(template["Resources"][policy_id]["Properties"]["PolicyDocument"])
    scheduling = next(s for s in found if "scheduler:CreateSchedule" in s["Action"])
    assert scheduling["Action"] == ["scheduler:CreateSchedule", "scheduler:DeleteSchedule"]
    assert json.dumps(scheduling["Resource"]).endswith(f':schedule/{group["Name"]}/*"]]}}')
    assert {"Action": ["iam:PassRole"], "Effect": "Allow", "Resource": arn(role_id)} in found
    sending = [s for s in found if s["Resource"] == arn(queue)]
    assert any("sqs:SendMessage" in s["Action"] for s in sending)


def test_consumers_are_told_the_role_and_group(synthesis: Any) -> None:
    template = synthesis.templates["Default"]
    _, function = only(template, "AWS::Lambda::Function")
    variables = function["Environment"]["Variables"]
    _, group = only(template, "AWS::Scheduler::ScheduleGroup")
    assert variables["TASKWORKER_SCHEDULE_GROUP"] == group["Name"]
    assert variables["TASKWORKER_SCHEDULER_ROLE_ARN"] == arn(
        logical_id(template, "AWS::IAM::Role", "SchedulesRole")
    )

"""Later and follow-ups against moto's server: one-time schedules, ``scheduled`` status,
cancel, the envelope as Scheduler delivers it, and a parent's ``children``.

moto's EventBridge Scheduler implements CreateSchedule/GetSchedule/DeleteSchedule (and the
groups) and stores what it is given, but validates no expression, never fires a schedule
and ignores ``ActionAfterCompletion``; so "firing" is done here as Scheduler's SQS target
does it: the schedule's ``Input`` sent as the body, without message attributes.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from moto_stack import Stack
from pydantic import BaseModel

from taskworker import TaskApp, TaskContext
from taskworker.aws import Clients
from taskworker.errors import TaskCancelledError, WaitTimeoutError
from taskworker.testing import receive_lambda_event

ROLE = "arn:aws:iam::123456789012:role/taskworker-scheduler"


class Report(BaseModel):
    account_id: str


def scheduled_app(stack: Stack) -> tuple[TaskApp, Any]:
    scheduler = stack.client("scheduler")
    group = f"tw-{uuid.uuid4().hex[:8]}"
    scheduler.create_schedule_group(Name=group)
    app = TaskApp("later-it", settings=stack.settings(scheduler_role_arn=ROLE, schedule_group=group))
    app.configure(clients=Clients(sqs=stack.sqs, sns=stack.sns, dynamodb=stack.dynamodb, scheduler=scheduler))

    @app.task("report.generate")
    def generate(req: Report) -> Report:
        return Report(account_id="done-" + req.account_id)

    return app, scheduler


def test_a_task_hours_ahead_is_a_schedule_and_says_scheduled(stack: Stack) -> None:
    app, scheduler = scheduled_app(stack)
    handle = app.client().submit("report.generate", {"account_id": "a"}, delay=timedelta(hours=3))
    group = app.settings.schedule_group
    schedule = scheduler.get_schedule(Name=f"tw-{handle.task_id}", GroupName=group)
    assert schedule["ScheduleExpression"].startswith("at(")
    assert schedule["ActionAfterCompletion"] == "DELETE"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert schedule["Target"]["Arn"] == stack.queue_arn
    assert schedule["Target"]["RoleArn"] == ROLE
    status = handle.status()
    assert status is not None
    assert status.status == "scheduled"
    assert status.as_api_json()["scheduled_for"] == status.scheduled_for
    ticks = iter(range(100))
    with pytest.raises(WaitTimeoutError):
        handle.wait(5, clock=lambda: float(next(ticks)), sleep=lambda _: None)
    assert stack.visible_count() == 0


def test_cancel_deletes_the_schedule_and_ends_the_task(stack: Stack) -> None:
    app, scheduler = scheduled_app(stack)
    handle = app.client().submit("report.generate", {"account_id": "a"}, delay=timedelta(days=2))
    assert handle.cancel() is True
    with pytest.raises(scheduler.exceptions.ResourceNotFoundException):
        scheduler.get_schedule(Name=f"tw-{handle.task_id}", GroupName=app.settings.schedule_group)
    status = handle.status()
    assert status is not None
    assert status.status == "cancelled"
    with pytest.raises(TaskCancelledError):
        handle.wait(5)


def test_what_the_schedule_delivers_runs_as_the_task_the_caller_holds(stack: Stack) -> None:
    app, scheduler = scheduled_app(stack)
    handle = app.client().submit("report.generate", {"account_id": "q"}, delay=timedelta(hours=1))
    target = scheduler.get_schedule(Name=f"tw-{handle.task_id}", GroupName=app.settings.schedule_group)[
        "Target"
    ]
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=target["Input"])  # what Scheduler sends
    answer = app.lambda_handler(receive_lambda_event(stack.sqs, stack.queue_url), None)
    assert answer == {"batchItemFailures": []}
    assert handle.wait(5) == Report(account_id="done-q")


def test_a_parents_status_lists_its_children_and_each_child_names_its_parent(stack: Stack) -> None:
    app = stack.app("followups-it")

    @app.task("parent")
    def parent(req: Report, ctx: TaskContext) -> None:
        ctx.submit("child", {"account_id": req.account_id + "-1"})
        ctx.submit("child", {"account_id": req.account_id + "-2"})

    @app.task("child")
    def child(req: Report) -> None: ...

    sent = stack.send("parent", {"account_id": "p"})
    assert app.lambda_handler(receive_lambda_event(stack.sqs, stack.queue_url), None) == {
        "batchItemFailures": []
    }
    status = app.get_status(sent)
    assert status is not None
    assert len(status.children) == 2
    assert status.as_api_json()["children"] == list(status.children)
    event = receive_lambda_event(stack.sqs, stack.queue_url)
    assert sorted(r["messageAttributes"]["task_id"]["stringValue"] for r in event["Records"]) == sorted(
        status.children
    )
    assert app.lambda_handler(event, None) == {"batchItemFailures": []}
    for child_id in status.children:
        child_status = app.get_status(child_id)
        assert child_status is not None
        assert (child_status.status, child_status.parent_task_id) == ("succeeded", sent)
        assert child_status.as_api_json()["parent_task_id"] == sent

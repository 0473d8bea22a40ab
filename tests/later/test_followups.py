"""Follow-ups: ``ctx.submit`` through the producer, offline through ``app.testing``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from taskworker import TaskApp, TaskContext
from taskworker.messages import TaskMessage
from taskworker.testing import FakeSQS, TaskTester, receive_lambda_event
from taskworker.testing.tester import FOLLOW_UP_QUEUE


class Report(BaseModel):
    owner: str


class Notice(BaseModel):
    email: str


def make_app() -> tuple[TaskApp, list[TaskContext]]:
    app = TaskApp("followups")
    seen: list[TaskContext] = []

    @app.task("report.generate")
    def generate(req: Report, ctx: TaskContext) -> None:
        ctx.submit("report.notify", {"email": req.owner})
        ctx.submit("report.notify", Notice(email="audit@example.com"), key="audit")

    @app.task("report.notify")
    def notify(req: Notice, ctx: TaskContext) -> None:
        seen.append(ctx)

    @app.task("report.bad")
    def bad(req: Report, ctx: TaskContext) -> None:
        ctx.submit("report.notify", {"mail": "typo"})

    return app, seen


def sent_messages(tester: TaskTester) -> list[TaskMessage]:
    sqs: FakeSQS = tester.sqs
    url = sqs.get_queue_url(QueueName=FOLLOW_UP_QUEUE)["QueueUrl"]
    answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    return [TaskMessage.from_sqs_message(message) for message in answer.get("Messages", [])]


def test_follow_ups_are_recorded_and_sent_with_the_parents_identity() -> None:
    app, _ = make_app()
    tester = TaskTester(app)
    run = tester.run("report.generate", {"owner": "ann@example.com"}, message_id="parent-1")
    assert run.succeeded
    assert [(t.task_type, t.parent_task_id, t.correlation_id) for t in run.submitted] == [
        ("report.notify", "parent-1", "parent-1"),
        ("report.notify", "parent-1", "parent-1"),
    ]
    messages = {m.task_id: m for m in sent_messages(tester)}
    assert set(messages) == {t.task_id for t in run.submitted}
    first = messages[run.submitted[0].task_id]
    assert first.task_type == "report.notify"
    assert first.parent_task_id == "parent-1"
    assert first.correlation_id == "parent-1"
    assert first.idempotency_key == first.task_id
    assert first.body == '{"email":"ann@example.com"}'


def test_a_retried_parent_derives_the_same_child_ids() -> None:
    app, _ = make_app()
    tester = TaskTester(app)
    first = tester.run("report.generate", {"owner": "a@example.com"}, message_id="p-1")
    again = tester.run("report.generate", {"owner": "a@example.com"}, message_id="p-1", attempt=2)
    other = tester.run("report.generate", {"owner": "a@example.com"}, message_id="p-2")
    ids = [t.task_id for t in first.submitted]
    assert ids == [t.task_id for t in again.submitted]
    assert len(set(ids)) == 2
    assert not set(ids) & {t.task_id for t in other.submitted}


def test_an_invalid_follow_up_payload_fails_the_parent_and_sends_nothing() -> None:
    app, _ = make_app()
    tester = TaskTester(app)
    run = tester.run("report.bad", {"owner": "a@example.com"})
    assert not run.succeeded
    assert run.error is not None
    assert "mail" in run.error.message
    assert run.submitted == ()
    assert sent_messages(tester) == []


class Capture:
    """A logger that keeps each line's extra keys."""

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        self.lines.append({"msg": msg, **kwargs.get("extra", {})})


def test_the_child_sees_its_parent_in_its_context_and_logs() -> None:
    app, _ = make_app()
    logger = Capture()
    app.logger = logger

    @app.task("report.log")
    def log_it(req: Notice, ctx: TaskContext) -> None:
        ctx.logger.info("child ran", seen_parent=ctx.parent_task_id)

    @app.task("report.chain")
    def chain(req: Report, ctx: TaskContext) -> None:
        ctx.submit("report.log", {"email": req.owner})

    tester = TaskTester(app)
    parent = tester.run("report.chain", {"owner": "a@example.com"}, message_id="p-9")
    url = tester.sqs.get_queue_url(QueueName=FOLLOW_UP_QUEUE)["QueueUrl"]
    answer = tester.lambda_handler(receive_lambda_event(tester.sqs, url))
    assert answer == {"batchItemFailures": []}
    line = next(line for line in logger.lines if line["msg"] == "child ran")
    assert line["task_id"] == parent.submitted[0].task_id
    assert line["parent_task_id"] == line["seen_parent"] == "p-9"
    assert line["correlation_id"] == "p-9"


def test_a_follow_up_more_than_15_minutes_ahead_goes_to_the_scheduler() -> None:
    app = TaskApp("later-followups")

    @app.task("a")
    def a(req: Report, ctx: TaskContext) -> None:
        ctx.submit("b", {"owner": req.owner}, delay=timedelta(hours=2))

    @app.task("b")
    def b(req: Report) -> None: ...

    tester = TaskTester(app)
    run = tester.run("a", {"owner": "x"}, message_id="p-1")
    again = tester.run("a", {"owner": "x"}, message_id="p-1", attempt=2)
    assert run.succeeded, run.outcome
    assert again.succeeded, again.outcome
    schedules = tester.scheduler.schedules
    assert [name for _, name in schedules] == [f"tw-{run.submitted[0].task_id}"]
    assert sent_messages(tester) == []


def test_ctx_submit_outside_a_run_is_a_clear_error() -> None:
    from taskworker.errors import TaskworkerError
    from taskworker.testing import task_context

    with pytest.raises(TaskworkerError, match="inside a task run"):
        task_context().submit("x", {})

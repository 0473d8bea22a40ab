"""A middleware hook that raises is logged with the task's identity and never escapes."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest
from pydantic import BaseModel

from taskworker import Middleware, PermanentError, Settings, TaskApp
from taskworker.aws import Clients
from taskworker.context import TaskCall
from taskworker.outcomes import ErrorInfo, Outcome, RetryLater, Succeeded, TaskResult
from taskworker.testing import FakeSQS, lambda_context, sqs_event, sqs_record


class Job(BaseModel):
    n: int


class Broken(Middleware):
    """Raises from the hooks it is told to."""

    def __init__(self, *hooks: str) -> None:
        self.hooks = set(hooks)

    def after_task(self, call: TaskCall, outcome: Outcome) -> None:
        if "after_task" in self.hooks:
            raise RuntimeError("after_task broke")

    def after_batch(self, results: Sequence[TaskResult]) -> None:
        if "after_batch" in self.hooks:
            for result in results:  # half-done changes must be undone
                result.requeue(ErrorInfo("Broken", "requeued by a broken step"))
            raise RuntimeError("after_batch broke")


def jobs_app(*middleware: Middleware, sqs: FakeSQS | None = None, dlq_url: str | None = None) -> TaskApp:
    app = TaskApp(
        "hooks",
        settings=Settings(dlq_url=dlq_url),
        middleware=middleware,
        clients=Clients(sqs=sqs or FakeSQS()),
        logger=logging.getLogger("test.hooks"),
    )

    @app.task("job.run")
    def run(job: Job) -> None:
        if job.n < 0:
            raise PermanentError("negative")

    return app


def test_a_raising_after_task_hook_is_logged_and_the_outcome_stands(caplog: pytest.LogCaptureFixture) -> None:
    app = jobs_app(Broken("after_task"))
    record = sqs_record({"n": 1}, task_type="job.run", correlation_id="req-7")
    with caplog.at_level(logging.ERROR, logger="test.hooks"):
        response = app.lambda_handler(sqs_event([record]), lambda_context())
    assert response == {"batchItemFailures": []}
    [line] = [r for r in caplog.records if r.getMessage().startswith("middleware hook failed")]
    assert (line.hook, line.middleware, line.task_id, line.task_type, line.attempt) == (  # type: ignore[attr-defined]
        "after_task",
        "Broken",
        record["messageId"],
        "job.run",
        1,
    )
    assert line.correlation_id == "req-7"  # type: ignore[attr-defined]


def test_dispatch_never_raises_for_a_raising_after_task_hook() -> None:
    app = jobs_app(Broken("after_task"))
    from taskworker.messages import TaskMessage

    message = TaskMessage.from_lambda_record(sqs_record({"n": 1}, task_type="job.run"))
    assert isinstance(app.dispatcher.dispatch(message).outcome, Succeeded)


def test_a_raising_after_batch_step_never_dead_letters_a_message_twice(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sqs = FakeSQS()
    dlq = sqs.create_queue(QueueName="hooks-dlq")["QueueUrl"]
    app = jobs_app(Broken("after_batch"), sqs=sqs, dlq_url=dlq)
    good = sqs_record({"n": 1}, task_type="job.run")
    bad = sqs_record({"n": -1}, task_type="job.run")
    with caplog.at_level(logging.ERROR, logger="test.hooks"):
        response = app.lambda_handler(sqs_event([good, bad]), lambda_context())
    # Neither is reported: the success stands, the permanent failure is in the DLQ once.
    assert response == {"batchItemFailures": []}
    copies = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])
    assert len(copies) == 1
    [line] = [r for r in caplog.records if r.getMessage().startswith("middleware hook failed")]
    assert line.hook == "after_batch"  # type: ignore[attr-defined]
    assert line.task_ids == [good["messageId"], bad["messageId"]]  # type: ignore[attr-defined]


def test_a_step_after_dead_lettering_cannot_turn_a_copied_message_back() -> None:
    class Requeues(Middleware):
        def after_batch(self, results: Sequence[TaskResult]) -> None:
            for result in results:
                result.requeue(ErrorInfo("Late", "a later step requeues"))

    sqs = FakeSQS()
    dlq = sqs.create_queue(QueueName="late-dlq")["QueueUrl"]
    app = jobs_app(Requeues(), sqs=sqs, dlq_url=dlq)
    bad = sqs_record({"n": -1}, task_type="job.run")
    assert app.lambda_handler(sqs_event([bad]), lambda_context()) == {"batchItemFailures": []}


def test_a_raising_after_batch_step_leaves_the_outcomes_as_they_were() -> None:
    app = jobs_app(Broken("after_batch"))
    from taskworker.messages import TaskMessage

    result = app.dispatcher.dispatch(
        TaskMessage.from_lambda_record(sqs_record({"n": 1}, task_type="job.run"))
    )
    [settlement] = app.finish_batch([result])
    assert settlement.delete
    assert not isinstance(result.outcome, RetryLater)


def test_a_raising_before_task_hook_counts_as_the_handler_failing_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class BrokenBefore(Middleware):
        def before_task(self, call: TaskCall) -> None:
            raise RuntimeError("before_task broke")

    app = jobs_app(BrokenBefore())
    from taskworker.messages import TaskMessage

    message = TaskMessage.from_lambda_record(sqs_record({"n": 1}, task_type="job.run"))
    with caplog.at_level(logging.ERROR, logger="test.hooks"):
        outcome = app.dispatcher.dispatch(message).outcome
    assert isinstance(outcome, RetryLater)
    assert outcome.error.type == "RuntimeError"
    [line] = [r for r in caplog.records if r.getMessage().startswith("middleware hook failed")]
    assert (line.hook, line.middleware, line.task_id) == ("before_task", "BrokenBefore", message.task_id)  # type: ignore[attr-defined]

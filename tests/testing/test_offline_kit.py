"""The testing kit is offline: task runs and the Lambda entry point never open a socket.

Every test here runs with sockets blocked (the plugin's ``no_network`` fixture), and checks
that nothing was even attempted: the Lambda runtime's visibility calls are best effort and
would swallow a refused connection.
"""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from taskworker import Failed, RetryableError, TaskApp, TaskContext
from taskworker.errors import TaskworkerError
from taskworker.settings import Settings
from taskworker.testing import (
    NetworkBlockedError,
    TaskRunFailedError,
    TaskTester,
    lambda_context,
    sockets_blocked,
    sqs_event,
    sqs_record,
    task_context,
)


class ReportRequest(BaseModel):
    account_id: str
    month: str


class ReportResult(BaseModel):
    account_id: str
    rows: int


app = TaskApp("kit-offline")


@app.task("report.generate", timeout=120)
def generate(req: ReportRequest, ctx: TaskContext) -> ReportResult:
    ctx.logger.info("generating")
    return ReportResult(account_id=req.account_id, rows=ctx.attempt * 10)


@app.task("report.flaky")
def flaky(req: ReportRequest) -> None:
    raise RetryableError("the warehouse is busy", delay=5)


def test_run_returns_the_output_typed_by_the_handler(no_network: list[str]) -> None:
    run = app.testing.run(generate, {"account_id": "acme", "month": "2026-10"})
    result: ReportResult = run.output  # TaskRun[ReportResult] to a type checker
    assert result == ReportResult(account_id="acme", rows=10)
    assert run.succeeded
    assert run.error is None


def test_run_by_name_and_failures(no_network: list[str]) -> None:
    run = app.testing.run("report.generate", {"account_id": "acme"})
    assert isinstance(run.outcome, Failed)
    assert run.outcome.permanent
    assert run.error == run.outcome.error
    assert run.error.type == "InvalidPayload"
    with pytest.raises(TaskRunFailedError, match="did not succeed"):
        _ = run.output


def test_run_refuses_a_function_that_is_not_a_task() -> None:
    with pytest.raises(TaskworkerError, match="is not a task"):
        app.testing.run(test_run_refuses_a_function_that_is_not_a_task)


def test_lambda_handler_with_a_retried_task_stays_offline(no_network: list[str]) -> None:
    good = sqs_record({"account_id": "acme", "month": "2026-10"}, task_type="report.generate")
    retried = sqs_record({"account_id": "acme", "month": "2026-10"}, task_type="report.flaky")
    response = app.testing.lambda_handler(sqs_event([good, retried]))
    assert response == {"batchItemFailures": [{"itemIdentifier": retried["messageId"]}]}


def test_default_context_leaves_room_for_the_slowest_task(no_network: list[str]) -> None:
    record = sqs_record({"account_id": "acme", "month": "2026-10"}, task_type="report.generate")
    assert app.testing.lambda_handler(sqs_event([record])) == {"batchItemFailures": []}
    assert lambda_context().get_remaining_time_in_millis() > 120_000


def test_visibility_changes_reach_the_testers_fake(no_network: list[str]) -> None:
    tester = TaskTester(app)
    url = tester.sqs.create_queue(QueueName="reports")["QueueUrl"]
    tester.sqs.send_message(
        QueueUrl=url,
        MessageBody='{"account_id": "acme", "month": "2026-10"}',
        MessageAttributes={"task_type": {"DataType": "String", "StringValue": "report.flaky"}},
    )
    from taskworker.testing import receive_lambda_event

    event = receive_lambda_event(tester.sqs, url)
    response = tester.lambda_handler(event)
    assert len(response["batchItemFailures"]) == 1
    assert tester.sqs.calls["ChangeMessageVisibilityBatch"] == 1
    assert tester.sqs.calls["GetQueueUrl"] == 1


def test_features_without_a_client_fail_clearly_instead_of_calling_aws(no_network: list[str]) -> None:
    tester = TaskTester(app, settings=Settings(result_topic_arn="arn:aws:sns:us-east-1:123456789012:results"))
    record = sqs_record({"account_id": "acme", "month": "2026-10"}, task_type="report.generate")
    response = tester.lambda_handler(sqs_event([record]))
    assert response == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}


def test_task_context_lets_a_test_call_the_handler_directly(no_network: list[str]) -> None:
    ctx = task_context("report.generate", task_id="t-1", attempt=3, correlation_id="c-9")
    seen = (ctx.task_id, ctx.task_type, ctx.attempt, ctx.correlation_id)
    assert seen == ("t-1", "report.generate", 3, "c-9")
    assert generate(ReportRequest(account_id="acme", month="2026-10"), ctx).rows == 30
    assert task_context(remaining_seconds=5).remaining_seconds() == 5


def test_the_block_catches_what_an_unconfigured_app_would_do(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the tester, the production entry point resolves the queue on AWS: the block
    (and so every test above) would see it."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    production = TaskApp("kit-production", settings=Settings())
    production.registry = app.registry
    record = sqs_record({"account_id": "acme", "month": "2026-10"}, task_type="report.flaky")
    with sockets_blocked() as attempts:
        production.lambda_handler(sqs_event([record]), lambda_context())
    assert attempts
    assert "amazonaws.com" in attempts[0]
    assert issubclass(NetworkBlockedError, RuntimeError)

"""The consumer's IAM grants cover the AWS calls the core really makes, and no more.

The grants are written action by action for least privilege; this keeps them honest when
the core changes which calls it makes (a missing action would only show up in production,
as status writes failing with AccessDenied).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

pytest.importorskip("aws_cdk")

from pydantic import BaseModel
from taskworker_infra.grants import STATUS_TABLE_ACTIONS

from taskworker import Settings, TaskApp
from taskworker.aws import Clients
from taskworker.testing import FakeSQS, lambda_context, sqs_event, sqs_record


class RecordingDynamoDB:
    """Answers every call like a table that accepts everything, and remembers the calls."""

    def __init__(self) -> None:
        self.operations: set[str] = set()

    def __getattr__(self, operation: str) -> Any:
        def call(**_: Any) -> dict[str, Any]:
            self.operations.add(operation)
            return {}

        return call


class Job(BaseModel):
    n: int


def _action(operation: str) -> str:
    return "dynamodb:" + re.sub(r"(?:^|_)([a-z])", lambda m: m.group(1).upper(), operation)


def test_status_table_actions_are_exactly_what_the_status_middleware_calls() -> None:
    dynamodb = RecordingDynamoDB()
    app = TaskApp(
        "grants",
        settings=Settings(status_table="status", max_receive_count=5, backoff_base_seconds=0),
        clients=Clients(sqs=FakeSQS(), dynamodb=dynamodb),
    )

    @app.task("job")
    def job(item: Job) -> None:
        if item.n < 0:
            raise ConnectionError("transient")

    records = [sqs_record({"n": 1}, task_type="job"), sqs_record({"n": -1}, task_type="job")]
    app.lambda_handler(sqs_event(records), lambda_context())
    assert {_action(op) for op in dynamodb.operations} == set(STATUS_TABLE_ACTIONS)

"""The offline testing kit: events, Lambda contexts and in-process task runs.

Everything here runs with no AWS account and no network. It is public API: use it to
unit-test handlers (``app.testing.run``) and Lambda entry points (``sqs_event`` +
``lambda_context``). The pytest plugin offers the factories as fixtures.
"""

from typing import Any

from taskworker.testing.events import (
    md5_of_message_attributes,
    receive_lambda_event,
    record_from_sqs_message,
    sqs_event,
    sqs_record,
)
from taskworker.testing.fake_sns import FakeSNS
from taskworker.testing.fake_sqs import FakeSQS, ManualClock
from taskworker.testing.lambda_context import FakeLambdaContext, lambda_context
from taskworker.testing.tester import TaskTester

__all__ = [
    "FakeLambdaContext",
    "FakeSNS",
    "FakeSQS",
    "InMemoryPersistenceLayer",
    "ManualClock",
    "TaskTester",
    "lambda_context",
    "md5_of_message_attributes",
    "receive_lambda_event",
    "record_from_sqs_message",
    "sqs_event",
    "sqs_record",
]


def __getattr__(name: str) -> Any:
    """``InMemoryPersistenceLayer`` on first use: powertools' idempotency imports boto3."""
    if name == "InMemoryPersistenceLayer":
        from taskworker.testing.idempotency import InMemoryPersistenceLayer

        return InMemoryPersistenceLayer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

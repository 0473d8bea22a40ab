"""The offline testing kit: events, Lambda contexts and in-process task runs.

Everything here runs with no AWS account and no network. It is public API: use it to
unit-test handlers (``app.testing.run``, or the handler itself with ``task_context()``) and
the Lambda entry point (``app.testing.lambda_handler`` with ``sqs_event``). The pytest
plugin offers the factories as fixtures, and ``no_network`` to prove a test stays offline.
"""

from typing import Any

from taskworker.testing.events import (
    md5_of_message_attributes,
    receive_lambda_event,
    record_from_sqs_message,
    sqs_event,
    sqs_record,
)
from taskworker.testing.fake_scheduler import FakeScheduler
from taskworker.testing.fake_sqs import FakeSQS, ManualClock
from taskworker.testing.lambda_context import FakeLambdaContext, lambda_context
from taskworker.testing.network import NetworkBlockedError, sockets_blocked
from taskworker.testing.task_context import task_context
from taskworker.testing.tester import TaskRun, TaskRunFailedError, TaskTester, offline_clients

__all__ = [
    "FakeLambdaContext",
    "FakeSQS",
    "FakeScheduler",
    "InMemoryPersistenceLayer",
    "ManualClock",
    "NetworkBlockedError",
    "TaskRun",
    "TaskRunFailedError",
    "TaskTester",
    "lambda_context",
    "md5_of_message_attributes",
    "offline_clients",
    "receive_lambda_event",
    "record_from_sqs_message",
    "sockets_blocked",
    "sqs_event",
    "sqs_record",
    "task_context",
]


def __getattr__(name: str) -> Any:
    """``InMemoryPersistenceLayer`` on first use: powertools' idempotency imports boto3."""
    if name == "InMemoryPersistenceLayer":
        from taskworker.testing.idempotency import InMemoryPersistenceLayer

        return InMemoryPersistenceLayer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

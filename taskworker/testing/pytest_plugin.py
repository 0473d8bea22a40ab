"""pytest plugin (entry point ``pytest11``): the testing kit's factories as fixtures.

Imports are deferred into the fixtures so that merely having taskworker installed adds
nothing to the start-up of unrelated test suites.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest


@pytest.fixture
def sqs_record() -> Callable[..., dict[str, Any]]:
    """Factory: ``sqs_record(payload, task_type=...)`` -> one Lambda SQS record."""
    from taskworker.testing.events import sqs_record as factory

    return factory


@pytest.fixture
def sqs_event() -> Callable[..., dict[str, Any]]:
    """Factory: ``sqs_event([records])`` or ``sqs_event(payload=..., task_type=...)``."""
    from taskworker.testing.events import sqs_event as factory

    return factory


@pytest.fixture
def lambda_context() -> Callable[..., Any]:
    """Factory: ``lambda_context(timeout_ms=...)`` -> a context whose time counts down."""
    from taskworker.testing.lambda_context import lambda_context as factory

    return factory


@pytest.fixture
def no_network() -> Iterator[list[str]]:
    """Sockets blocked for the test: any connection or name lookup raises ``NetworkBlockedError``.

    The fixture's value lists the refused targets; the test fails at teardown if any
    were refused, even when the code under test swallowed the error.
    """
    from taskworker.testing.network import sockets_blocked

    with sockets_blocked() as attempts:
        yield attempts
    assert not attempts, f"the test tried to reach the network: {attempts}"

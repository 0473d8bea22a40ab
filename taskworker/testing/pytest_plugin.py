"""pytest plugin (entry point ``pytest11``): the testing kit's factories as fixtures.

Imports are deferred into the fixtures so that merely having taskworker installed adds
nothing to the start-up of unrelated test suites.
"""

from __future__ import annotations

from collections.abc import Callable
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

"""A Lambda context whose remaining time really counts down.

The class is the one the local event-source emulation (``taskworker.dev.event_source``)
invokes handlers with, so a test sees what ``taskworker dev`` gives a handler. By default
it has Lambda's longest timeout, 900 s: a shorter default would make the dispatcher refuse
(as too close to the deadline) any task slower than it, which in a test reads as a bug of
the task rather than of the context.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from taskworker.dev.event_source import LAMBDA_MAX_TIMEOUT_MS
from taskworker.dev.event_source import LambdaContext as FakeLambdaContext

__all__ = ["FakeLambdaContext", "lambda_context"]


def lambda_context(
    timeout_ms: int = LAMBDA_MAX_TIMEOUT_MS,
    *,
    function_name: str = "taskworker-consumer",
    clock: Callable[[], float] = time.monotonic,
) -> FakeLambdaContext:
    """A context for an invocation of ``timeout_ms`` that started now."""
    return FakeLambdaContext(timeout_ms=timeout_ms, function_name=function_name, clock=clock)

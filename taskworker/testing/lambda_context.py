"""A Lambda context whose remaining time really counts down.

By default it has Lambda's longest timeout, 900 s: a shorter default would make the
dispatcher refuse (as too close to the deadline) any task slower than it, which in a test
reads as a bug of the task rather than of the context.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from taskworker.testing.events import DEFAULT_ACCOUNT, DEFAULT_REGION

LAMBDA_MAX_TIMEOUT_MS = 900_000


@dataclass
class FakeLambdaContext:
    """The attributes and method of ``aws_lambda_powertools.utilities.typing.LambdaContext``.

    The remaining time is measured from creation on ``clock`` (seconds), so a test can let
    time pass for real or drive a manual clock to make the deadline run out mid-batch.
    """

    timeout_ms: int = LAMBDA_MAX_TIMEOUT_MS
    function_name: str = "taskworker-consumer"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    region: str = DEFAULT_REGION
    account: str = DEFAULT_ACCOUNT
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def __post_init__(self) -> None:
        self._started = self.clock()
        self.invoked_function_arn = (
            f"arn:aws:lambda:{self.region}:{self.account}:function:{self.function_name}"
        )
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = f"2026/01/01/[$LATEST]{uuid.uuid4().hex}"

    def get_remaining_time_in_millis(self) -> int:
        elapsed_ms = (self.clock() - self._started) * 1000
        return max(0, int(self.timeout_ms - elapsed_ms))


def lambda_context(
    timeout_ms: int = LAMBDA_MAX_TIMEOUT_MS,
    *,
    function_name: str = "taskworker-consumer",
    clock: Callable[[], float] = time.monotonic,
) -> FakeLambdaContext:
    """A context for an invocation of ``timeout_ms`` that started now."""
    return FakeLambdaContext(timeout_ms=timeout_ms, function_name=function_name, clock=clock)

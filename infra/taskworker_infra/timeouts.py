"""How long the consumer may run and how long SQS hides a message in flight.

These numbers are derived, never typed in: the consumer's timeout follows the slowest
registered task, and the queue's visibility timeout follows the consumer's timeout. A handler
whose timeout grows therefore cannot silently outlive its message's invisibility (which would
run it twice in parallel).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = [
    "LAMBDA_MAX_TIMEOUT",
    "SQS_MAX_VISIBILITY",
    "VISIBILITY_FACTOR",
    "lambda_timeout",
    "required_consumer_timeout",
    "visibility_timeout",
]

LAMBDA_MAX_TIMEOUT = 900
SQS_MAX_VISIBILITY = 43_200
# AWS guidance for SQS event sources: visibility at least 6x the function timeout, so that
# retries of throttled invocations happen before the message reappears.
VISIBILITY_FACTOR = 6


def required_consumer_timeout(
    task_timeouts: Iterable[float | None], *, default_task_timeout: float, margin: float
) -> int:
    """The shortest consumer timeout (seconds) that lets the slowest task finish plus a margin.

    Tasks registered without a timeout count as ``default_task_timeout``.
    """
    slowest = max((t if t is not None else default_task_timeout for t in task_timeouts), default=0)
    return math.ceil(slowest + margin)


def lambda_timeout(required: int, *, batch_size: int, requested: int | None = None) -> int:
    """The Lambda timeout (seconds) for a batch of ``batch_size`` messages.

    Without an explicit request, room is left for the whole batch when Lambda's 900 s cap
    allows it; otherwise the runtime's remaining-time check defers the rest of the batch.
    An explicit request below ``required`` is refused: it would kill the slowest task.
    """
    if required > LAMBDA_MAX_TIMEOUT:
        raise ValueError(
            f"the slowest task needs {required} s but Lambda stops at {LAMBDA_MAX_TIMEOUT} s: "
            "run it on the container worker (worker=True)"
        )
    if requested is None:
        return min(LAMBDA_MAX_TIMEOUT, max(required, required * batch_size))
    if not required <= requested <= LAMBDA_MAX_TIMEOUT:
        raise ValueError(
            f"function timeout {requested} s must lie between the slowest task plus margin "
            f"({required} s) and {LAMBDA_MAX_TIMEOUT} s"
        )
    return requested


def visibility_timeout(consumer_timeout: int) -> int:
    """Queue visibility timeout (seconds): ``VISIBILITY_FACTOR`` x the consumer timeout."""
    visibility = VISIBILITY_FACTOR * consumer_timeout
    if visibility > SQS_MAX_VISIBILITY:
        raise ValueError(
            f"a consumer timeout of {consumer_timeout} s needs a visibility timeout of "
            f"{visibility} s, above SQS's maximum of {SQS_MAX_VISIBILITY} s"
        )
    return visibility

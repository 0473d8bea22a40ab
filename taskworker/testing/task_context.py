"""Building the ``TaskContext`` a handler receives, to call the handler directly.

A handler declared ``def generate(req, ctx: TaskContext)`` is a plain function; a test
calls it with a payload model and a context from :func:`task_context`, with the same
attributes the dispatcher would give it.
"""

from __future__ import annotations

import logging
import math

from taskworker.context import Deadline, TaskContext
from taskworker.log import SupportsLogging
from taskworker.messages import TaskMessage
from taskworker.testing.events import sqs_record


def task_context(
    task_type: str = "test.task",
    *,
    task_id: str | None = None,
    attempt: int = 1,
    idempotency_key: str | None = None,
    correlation_id: str | None = None,
    remaining_seconds: float = math.inf,
    logger: SupportsLogging | None = None,
) -> TaskContext:
    """A context for one run of ``task_type``: its id, attempt, keys and time left.

    ``logger`` receives what the handler logs through ``ctx.logger`` (a standard-library
    logger named ``taskworker.testing`` by default, so pytest's ``caplog`` sees it).
    """
    record = sqs_record(
        task_type=task_type,
        message_id=task_id,
        receive_count=attempt,
        idempotency_key=idempotency_key,
        correlation_id=correlation_id,
    )
    deadline = Deadline(lambda: remaining_seconds)
    return TaskContext(
        TaskMessage.from_lambda_record(record),
        task_type,
        deadline,
        logger or logging.getLogger("taskworker.testing"),
    )

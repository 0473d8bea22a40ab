"""Pre-built SQS events, exactly as Lambda delivers them (the testing kit's factories).

Built once per benchmark and reused across rounds: building them costs more than
handling them, and no contestant mutates them.
"""

from __future__ import annotations

from typing import Any

from benchmarks.workload import TASK_TYPE, payload
from taskworker.testing import sqs_event, sqs_record

RECORDS_PER_EVENT = 10


def build_events(count: int) -> list[dict[str, Any]]:
    """``count`` standard-queue events of ten records each, every messageId unique."""
    return [
        sqs_event(
            [sqs_record(payload(event, index), task_type=TASK_TYPE) for index in range(RECORDS_PER_EVENT)]
        )
        for event in range(count)
    ]

"""Where taskworker's per-message time goes in the Lambda handler.

Times the stages separately on the same events, interleaved with the whole handler, and
reports each as a share of it; the runtime's glue (records bookkeeping, batch finish,
visibility, failure list) is what remains. Informational: it has no target, it tells the
next optimisation where to look. Stages reach into ``taskworker.messages`` and the
dispatcher directly, so they follow those internals if they change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from benchmarks import baselines
from benchmarks.apps import build_app
from benchmarks.events import RECORDS_PER_EVENT, build_events
from benchmarks.rows import Row, compared
from benchmarks.timing import Budget, interleaved
from benchmarks.workload import Touch
from taskworker.context import Deadline
from taskworker.messages import TaskMessage
from taskworker.testing import lambda_context

NAME = "lambda_breakdown"
EVENTS_PER_SAMPLE = 20
UNIT = "us/msg"
WHOLE = "taskworker handler"
GLUE = "runtime glue (remainder)"
PARTS = ("powertools batch, empty handler", "TaskMessage.from_lambda_record", "Dispatcher.dispatch")


def run(budget: Budget) -> list[Row]:
    events = build_events(EVENTS_PER_SAMPLE)
    messages = len(events) * RECORDS_PER_EVENT
    samples = interleaved(_stages(events), rounds=budget.rounds, warmup_rounds=budget.warmup_rounds)
    samples = samples.derived(GLUE, lambda t: t[WHOLE] - sum(t[part] for part in PARTS))
    order = [*PARTS, GLUE, WHOLE, "pydantic model_validate_json", "powertools handler"]
    whole = samples.median(WHOLE) / 1000 / messages
    return [
        compared(
            NAME,
            name,
            samples.median(name) / 1000 / messages,
            UNIT,
            WHOLE,
            whole,
            ratio=samples.ratio(name, WHOLE),
        )
        for name in order
    ]


def _stages(events: list[dict[str, Any]]) -> dict[str, Callable[[], object]]:
    app = build_app()
    context = lambda_context(timeout_ms=900_000)
    records = [record for event in events for record in event["Records"]]
    messages = [TaskMessage.from_lambda_record(record) for record in records]
    deadline = Deadline.from_lambda_context(context)
    dispatch = app.dispatcher.dispatch
    return {
        WHOLE: lambda: [app.lambda_handler(event, context) for event in events],
        "powertools batch, empty handler": lambda: [_empty_batch(event, context) for event in events],
        "TaskMessage.from_lambda_record": lambda: [TaskMessage.from_lambda_record(r) for r in records],
        "Dispatcher.dispatch": lambda: [dispatch(message, deadline) for message in messages],
        "pydantic model_validate_json": lambda: [Touch.model_validate_json(r["body"]) for r in records],
        "powertools handler": lambda: [baselines.powertools(event, context) for event in events],
    }


def _empty_batch(event: dict[str, Any], context: Any) -> None:
    """powertools' share, set up as taskworker sets it up: a new processor per event."""
    processor = BatchProcessor(event_type=EventType.SQS)
    processor.raise_on_entire_batch_failure = False
    process_partial_response(event=event, record_handler=_ignore, processor=processor, context=context)


def _ignore(record: Any) -> None:
    """A record handler that does nothing, so only the batch machinery is timed."""

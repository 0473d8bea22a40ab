"""Where taskworker's per-message time goes in the Lambda handler.

Times the stages separately on the same events, interleaved with the whole handler, and
reports each as a share of it. The Lambda runtime is taskworker's own loop (no
powertools batch stage): records are converted, dispatched and settled with one
``finish_batch``; its glue (records check, deadline, invocation context, FIFO bookkeeping,
failure list) is what remains. Informational: it has no target, it tells the
next optimisation where to look. Stages reach into ``taskworker.messages`` and the
dispatcher directly, so they follow those internals if they change.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, TypeVar

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
EVENTS = 20
UNIT = "us/msg"
T = TypeVar("T")
WHOLE = "taskworker handler"
GLUE = "runtime glue (remainder)"
PARTS = ("TaskMessage.from_lambda_record", "Dispatcher.dispatch", "Dispatcher.finish_batch")


def run(budget: Budget) -> list[Row]:
    events = build_events(EVENTS)
    messages = RECORDS_PER_EVENT
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
    """Each stage on one event's worth of work (ten records) per sample, in the same cycle."""
    app = build_app()
    context = lambda_context(timeout_ms=900_000)
    deadline = Deadline.from_lambda_context(context)
    dispatch = app.dispatcher.dispatch
    batches = [[TaskMessage.from_lambda_record(r) for r in event["Records"]] for event in events]
    dispatched = [[dispatch(m, deadline) for m in batch] for batch in batches]
    return {
        WHOLE: _cycled(events, lambda event: app.lambda_handler(event, context)),
        "TaskMessage.from_lambda_record": _cycled(
            events, lambda event: [TaskMessage.from_lambda_record(r) for r in event["Records"]]
        ),
        "Dispatcher.dispatch": _cycled(batches, lambda batch: [dispatch(m, deadline) for m in batch]),
        "Dispatcher.finish_batch": _cycled(dispatched, app.dispatcher.finish_batch),
        "pydantic model_validate_json": _cycled(
            events, lambda event: [Touch.model_validate_json(r["body"]) for r in event["Records"]]
        ),
        "powertools handler": _cycled(events, lambda event: baselines.powertools(event, context)),
    }


def _cycled(items: list[T], work: Callable[[T], object]) -> Callable[[], object]:
    """A sample that does ``work`` on the next item, so every stage sees the same inputs."""
    upcoming = itertools.cycle(items)
    return lambda: work(next(upcoming))

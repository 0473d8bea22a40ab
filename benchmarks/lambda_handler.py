"""Lambda handler cost per message: taskworker against powertools and a hand-written loop.

All four handle the same pre-built 10-record SQS events in interleaved rounds, one
invocation per sample; the result is the median time per message. The target baseline
is what a powertools user who wants a typed body writes: ``BatchProcessor`` with a
parser model (``SqsRecordModel`` with a ``Json[...]`` body, :mod:`benchmarks.parser_baseline`);
taskworker gives the same typed body plus routing, deadlines and outcomes, and must cost
at most 1.1x that. The untyped batch utility (the body left a string, parsed by hand) and
the bare loop are for reference.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from benchmarks import baselines, parser_baseline
from benchmarks.apps import build_app
from benchmarks.events import RECORDS_PER_EVENT, build_events
from benchmarks.rows import Row, compared
from benchmarks.timing import Budget, Samples, interleaved
from taskworker.testing import lambda_context

NAME = "lambda_handler"
EVENTS = 20
MAX_RATIO_TO_POWERTOOLS_PARSER = 1.1
UNIT = "us/msg"

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def run(budget: Budget) -> list[Row]:
    events = build_events(EVENTS)
    context = lambda_context(timeout_ms=900_000)  # far from the deadline guard's margin
    handlers: dict[str, Handler] = {
        "taskworker": build_app().lambda_handler,
        "powertools parser model": parser_baseline.powertools_parser,
        "powertools": baselines.powertools,
        "hand-written": baselines.hand_written,
    }
    _check_same_answers(handlers, events, context)
    contestants = {name: _over_events(handler, events, context) for name, handler in handlers.items()}
    samples = interleaved(contestants, rounds=budget.rounds, warmup_rounds=budget.warmup_rounds)
    messages = RECORDS_PER_EVENT
    return [
        _row(samples, messages, "taskworker", "powertools parser model", MAX_RATIO_TO_POWERTOOLS_PARSER),
        _row(samples, messages, "taskworker", "powertools"),
        _row(samples, messages, "taskworker", "hand-written"),
        _row(samples, messages, "powertools parser model", "hand-written"),
        _row(samples, messages, "powertools", "hand-written"),
    ]


def _over_events(handler: Handler, events: list[dict[str, Any]], context: Any) -> Callable[[], None]:
    """One timed sample: one invocation, on the next event of the cycle."""
    upcoming = itertools.cycle(events)

    def sample() -> None:
        handler(next(upcoming), context)

    return sample


def _check_same_answers(handlers: dict[str, Handler], events: list[dict[str, Any]], context: Any) -> None:
    """A contestant that silently fails records would look fast: refuse to time it."""
    for name, handler in handlers.items():
        answer = handler(events[0], context)
        if answer != {"batchItemFailures": []}:
            raise RuntimeError(f"{name} reported failures on a valid event: {answer}")


def _row(samples: Samples, messages: int, name: str, baseline: str, max_ratio: float | None = None) -> Row:
    def per_message(contestant: str) -> float:
        return samples.median(contestant) / 1000 / messages

    label = f"{name} per message"
    ratio = samples.ratio(name, baseline)
    return compared(
        NAME, label, per_message(name), UNIT, baseline, per_message(baseline), max_ratio, ratio=ratio
    )

"""Cold-start cost: importing the example's handler module in a fresh interpreter.

The baseline is what any powertools consumer imports anyway (pydantic and the batch
utility). Target: ``examples.reports`` at most 1.2x that. ``examples.reports`` defers
the batch utility to the first invocation, so the import alone flatters it; the
"import + first event" rows compare the bench app with the powertools handler on a
whole cold start (import, then one 10-record event), which is what a user waits for.

Each figure is the median over fresh interpreters, started alternately, after one
unmeasured start of each that compiles bytecode; ratios pair the starts of one cycle.
Time is taken around the import inside the child, so interpreter start-up is left out.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from benchmarks.events import build_events
from benchmarks.fresh import run_snippet
from benchmarks.rows import Row, compared
from benchmarks.timing import Budget, Samples

NAME = "import_cost"
MAX_RATIO_TO_BASELINE = 1.2
UNIT = "ms"

_TIMED = """
import time
_started = time.perf_counter_ns()
{body}
_elapsed_ms = (time.perf_counter_ns() - _started) / 1e6
import json
print(json.dumps({{"ms": _elapsed_ms}}))
"""

_WITH_EVENT = """
import json, sys
event = json.loads(sys.stdin.read())
class Context:
    def get_remaining_time_in_millis(self):
        return 900_000
context = Context()
"""

EXAMPLE = "import examples.reports"
BASELINE = (
    "import pydantic\n"
    "from aws_lambda_powertools.utilities.batch import BatchProcessor, process_partial_response"
)
BENCH_APP_COLD = (
    "from benchmarks.apps import build_app\n"
    "answer = build_app().lambda_handler(event, context)\n"
    "assert answer == {'batchItemFailures': []}, answer"
)
POWERTOOLS_COLD = (
    "from benchmarks.baselines import powertools\n"
    "answer = powertools(event, context)\n"
    "assert answer == {'batchItemFailures': []}, answer"
)


def run(budget: Budget) -> list[Row]:
    event = json.dumps(build_events(1)[0])
    samples = _alternating(
        {
            "examples.reports": lambda: _timed_ms(EXAMPLE),
            "pydantic + powertools batch": lambda: _timed_ms(BASELINE),
            "bench app": lambda: _timed_ms(BENCH_APP_COLD, event),
            "powertools handler": lambda: _timed_ms(POWERTOOLS_COLD, event),
        },
        budget.processes,
    )
    return [
        _row("import examples.reports", samples, "examples.reports", "pydantic + powertools batch", True),
        _row("import + first event, bench app", samples, "bench app", "powertools handler", False),
    ]


def _timed_ms(body: str, event: str | None = None) -> float:
    prelude = _WITH_EVENT if event is not None else ""
    result = run_snippet(prelude + _TIMED.format(body=body), stdin=event or "")
    return float(result["ms"])


def _alternating(runs: dict[str, Callable[[], float]], processes: int) -> Samples:
    """One unmeasured start each (bytecode compilation), then ``processes`` alternating."""
    for measure in runs.values():
        measure()
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(processes):
        for name, measure in runs.items():
            samples[name].append(measure())
    return Samples(samples)


def _row(label: str, samples: Samples, name: str, baseline: str, targeted: bool) -> Row:
    max_ratio = MAX_RATIO_TO_BASELINE if targeted else None
    return compared(
        NAME,
        label,
        samples.median(name),
        UNIT,
        baseline,
        samples.median(baseline),
        max_ratio,
        ratio=samples.ratio(name, baseline),
    )

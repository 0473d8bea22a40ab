"""The list of benchmarks: adding one is one new module and one line here.

A benchmark is a module of this package with a ``run(budget: Budget) -> list[Row]``
function; it is imported only when selected, so ``--only`` pays for nothing else.
``PLANNED`` names the measurements later issues will add, with the baseline each one
needs, so the table's shape is agreed before the code exists.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from benchmarks.rows import Row
from benchmarks.timing import Budget

RunFunction = Callable[[Budget], list[Row]]


@dataclass(frozen=True, slots=True)
class Benchmark:
    name: str
    summary: str

    def run(self, budget: Budget) -> list[Row]:
        module = importlib.import_module(f"benchmarks.{self.name}")
        function: RunFunction = module.run
        return function(budget)


@dataclass(frozen=True, slots=True)
class Planned:
    """A measurement agreed on but not written yet: what it counts and against what."""

    name: str
    summary: str


BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark("lambda_handler", "Lambda handler cost per message vs powertools and a hand loop"),
    Benchmark("lambda_breakdown", "where taskworker's per-message Lambda time goes, stage by stage"),
    Benchmark("import_cost", "fresh-interpreter import and cold-start cost vs pydantic + powertools"),
    Benchmark("boto3_free", "boto3 is not imported without AWS features"),
    # before anything imports moto: its import hooks a stubber into every later boto3 client
    Benchmark("worker_fauxqs", "worker over HTTP on fauxqs: tasks/s, CPU/task, requests vs 3 hand-written"),
    Benchmark("worker_sqs_requests", "container worker SQS requests per 1,000 tasks vs a receive-10 loop"),
    Benchmark("worker_throughput", "container worker tasks/s, 20 ms I/O tasks, vs a single-threaded loop"),
    Benchmark("sns_calls", "SNS calls per task with result events on vs one Publish per task"),
    Benchmark("dynamodb_calls", "DynamoDB calls per task, status and idempotency, vs powertools alone"),
    Benchmark("dev_latency", "dev-mode POST to succeeded latency, both runtimes, vs a bare SQS round trip"),
    Benchmark("asset", "Lambda asset size and cold start from it vs the SDK-bundled, uncompiled asset"),
)

PLANNED: tuple[Planned, ...] = ()


def select(names: Sequence[str]) -> list[Benchmark]:
    """The benchmarks named (all of them when none is), in registry order."""
    if not names:
        return list(BENCHMARKS)
    known = {benchmark.name for benchmark in BENCHMARKS}
    planned = {item.name for item in PLANNED}
    for name in names:
        if name in planned:
            raise ValueError(f"benchmark {name!r} is planned but not written yet")
        if name not in known:
            raise ValueError(f"unknown benchmark {name!r}; known: {', '.join(sorted(known))}")
    return [benchmark for benchmark in BENCHMARKS if benchmark.name in names]

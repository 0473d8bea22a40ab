"""Container worker over HTTP on fauxqs, against three hand-written consumers in one run.

What users see: real botocore requests (signing, serialising, parsing, event hooks) to
a local SQS fast enough that the consumer's own costs dominate (fauxqs, Node; see
:mod:`benchmarks.fauxqs_server`). Contestants (:mod:`benchmarks.consumers`): the
sequential loop (receive 10, handle, DeleteMessageBatch), a batch on a 16-thread pool,
16 polling threads, and taskworker's worker at concurrency 16. Two workloads:

- trivial tasks (validate the body, nothing else): cost per task, as tasks/s and as
  this process's CPU µs per task (all threads). Targets: the worker at least 1.0x the
  sequential loop's tasks/s and at most 1.0x its CPU per task;
- 20 ms I/O-bound tasks at concurrency 16: target at least 1.0x the 16 pollers.

And SQS requests per 1,000 tasks (consumer's only) for both, target at most 1.05x the
loop's 200. Every round fills one queue per contestant up front (untimed), then runs the
contestants one after another in a rotating order; figures are medians over rounds and
ratios medians of per-round ratios (5 rounds). ``--quick`` runs one tiny round, and only if fauxqs
is installed already (``npm ci`` takes about 40 s and needs the npm registry): else its
rows say "skipped" and why.
"""

from __future__ import annotations

import statistics
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from benchmarks import fauxqs_server, local_aws
from benchmarks.consumers import (
    Runner,
    Timing,
    run_direct_worker,
    run_loop,
    run_pollers,
    run_pool_batch,
    run_worker,
)
from benchmarks.rows import Row, compared, skipped
from benchmarks.timing import Budget
from benchmarks.worker_common import CONCURRENCY, TASK_SLEEP, Progress, per_thousand, quiet, send_batch

NAME = "worker_fauxqs"
LOOP = "sequential loop (receive 10, handle, DeleteMessageBatch)"
POOL = "receive 10, run on a 16-thread pool, DeleteMessageBatch"
POLLERS = "16 threads, each a sequential loop"
WORKER = "worker"
DIRECT = "worker (direct SQS)"
"""The worker with ``sqs_transport="direct"``: its receives and deletes skip botocore's pipeline."""
RUNNERS: dict[str, Runner] = {
    LOOP: run_loop,
    POOL: run_pool_batch,
    POLLERS: run_pollers,
    WORKER: run_worker,
    DIRECT: run_direct_worker,
}
MAX_REQUEST_RATIO = 1.05
FILL_THREADS = 4
WARM_UP_TASKS = 2000


@dataclass(frozen=True, slots=True)
class Workload:
    label: str
    sleep: float
    tasks: dict[str, int]
    """Tasks per contestant: slow contestants run fewer (their rate is steady from the first batch)."""


@dataclass
class Figures:
    """Per-round figures of every contestant on one workload."""

    rate: dict[str, list[float]] = field(default_factory=dict)
    cpu_us: dict[str, list[float]] = field(default_factory=dict)
    requests: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, tasks: int, timing: Timing, counts: Counter[str]) -> None:
        self.rate.setdefault(name, []).append(tasks / timing.seconds)
        self.cpu_us.setdefault(name, []).append(timing.cpu_seconds * 1e6 / tasks)
        self.requests.setdefault(name, []).append(per_thousand(counts, tasks))


def workloads(budget: Budget) -> tuple[Workload, Workload]:
    scale = 0.1 if budget.smoke else 1.0

    def tasks(loop: int, pool: int, pollers: int, worker: int) -> dict[str, int]:
        counts = (loop, pool, pollers, worker, worker)
        return {name: max(30, int(n * scale) // 10 * 10) for name, n in zip(RUNNERS, counts, strict=True)}

    trivial = Workload("trivial tasks", 0.0, tasks(3000, 3000, 3000, 3000))
    io = Workload(f"{TASK_SLEEP * 1000:g} ms tasks", TASK_SLEEP, tasks(200, 1000, 2000, 2000))
    return trivial, io


def run(budget: Budget) -> list[Row]:
    trivial, io = workloads(budget)
    if budget.smoke and not fauxqs_server.installed():
        reason = "fauxqs not installed; a full run or `--only worker_fauxqs` installs it"
        return [skipped(NAME, name, reason) for name in row_names(trivial, io)]
    quiet()
    rounds = 1 if budget.smoke else 5
    with fauxqs_server.running() as endpoint:
        _warm_up(endpoint)
        measured = {workload.label: _measure(endpoint, workload, rounds) for workload in (trivial, io)}
    return _rows(trivial, measured[trivial.label]) + _rows(io, measured[io.label])


def row_names(trivial: Workload, io: Workload) -> list[str]:
    """The rows this benchmark reports, in order (also what a skip reports)."""
    return [spec.name for workload in (trivial, io) for spec in _row_specs(workload)]


def _measure(endpoint: str, workload: Workload, rounds: int) -> Figures:
    figures = Figures()
    producer = local_aws.client(endpoint, "sqs")
    names = list(RUNNERS)
    for index in range(rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            tasks = workload.tasks[name]
            url = producer.create_queue(QueueName=local_aws.unique("fauxqs"))["QueueUrl"]
            _fill(producer, url, tasks)
            consumer, counts = _consumer(endpoint)
            timing = RUNNERS[name](consumer, url, tasks, workload.sleep, Progress())
            figures.add(name, tasks, timing, counts)
    return figures


def _warm_up(endpoint: str) -> None:
    """Untimed traffic first: a fresh Node server runs its first thousand requests slower."""
    producer = local_aws.client(endpoint, "sqs")
    url = producer.create_queue(QueueName=local_aws.unique("fauxqs-warm-up"))["QueueUrl"]
    _fill(producer, url, WARM_UP_TASKS)
    run_pollers(_consumer(endpoint)[0], url, WARM_UP_TASKS, 0.0, Progress())


def _consumer(endpoint: str) -> tuple[Any, Counter[str]]:
    """A counted client whose pool has a connection for every thread that may use it."""
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name=local_aws.REGION,
        config=Config(max_pool_connections=CONCURRENCY + 4),
        **local_aws.CREDENTIALS,  # type: ignore[arg-type]
    )
    return client, local_aws.counting(client)


def _fill(sqs: Any, url: str, tasks: int) -> None:
    with ThreadPoolExecutor(FILL_THREADS) as pool:
        list(pool.map(lambda start: send_batch(sqs, url, start, min(10, tasks - start)), range(0, tasks, 10)))


@dataclass(frozen=True, slots=True)
class RowSpec:
    """One row: which figure of which contestant, against which baseline, with what target."""

    name: str
    figure: str
    """An attribute of :class:`Figures`: ``rate``, ``cpu_us`` or ``requests``."""
    unit: str
    contestant: str
    baseline: str
    max_ratio: float | None = None
    min_ratio: float | None = None


def _row_specs(workload: Workload) -> list[RowSpec]:
    label = f"{workload.label}, concurrency {CONCURRENCY}"
    trivial = workload.sleep == 0
    specs = []
    for worker in (WORKER, DIRECT):
        specs += [
            RowSpec(
                f"{worker}, {label}", "rate", "tasks/s", worker, LOOP, min_ratio=1.0 if trivial else None
            ),
            RowSpec(f"{worker}, {label}", "rate", "tasks/s", worker, POOL),
            RowSpec(
                f"{worker}, {label}", "rate", "tasks/s", worker, POLLERS, min_ratio=None if trivial else 1.0
            ),
        ]
        if trivial:
            specs.append(
                RowSpec(f"{worker} CPU per task, {label}", "cpu_us", "us/task", worker, LOOP, max_ratio=1.0)
            )
        specs.append(
            RowSpec(
                f"{worker} SQS requests, {label}",
                "requests",
                "req/1000 tasks",
                worker,
                LOOP,
                MAX_REQUEST_RATIO,
            )
        )
    if trivial:
        specs.append(RowSpec(f"16 pollers' CPU per task, {label}", "cpu_us", "us/task", POLLERS, LOOP))
    return specs


def _rows(workload: Workload, figures: Figures) -> list[Row]:
    rows = []
    for spec in _row_specs(workload):
        values: dict[str, list[float]] = getattr(figures, spec.figure)
        mine, theirs = values[spec.contestant], values[spec.baseline]
        ratio = statistics.median(a / b for a, b in zip(mine, theirs, strict=True))
        value, base = statistics.median(mine), statistics.median(theirs)
        targets = {"max_ratio": spec.max_ratio, "min_ratio": spec.min_ratio}
        rows.append(compared(NAME, spec.name, value, spec.unit, spec.baseline, base, ratio=ratio, **targets))
    return rows

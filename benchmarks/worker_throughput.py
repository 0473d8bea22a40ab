"""Container worker: throughput of I/O-bound tasks against a single-threaded boto3 loop.

Tasks sleep 20 ms (an I/O wait); the worker runs them at concurrency 16, the baseline is
the hand-written loop (receive 10, handle each, DeleteMessageBatch) on the same endpoint.
Figures are tasks per second until the last task was settled; the ratio is the median of
per-round ratios, worker and loop alternating. Target: at least 10x.

- FakeSQS behind a simulated 10 ms network round trip per request (the target row). The
  loop's rate is steady from its first batch (220 ms per ten tasks), so it runs on fewer
  tasks than the worker, whose figure includes its ramp-up and drain (about 0.25 s, so
  600 tasks: on 300 the worker's figure is about 5% lower than its steady rate).
- moto's server in its own process, kept busy but shallow by a feeder (for information:
  moto serves each request in milliseconds of Python, so this measures moto as much as
  the worker).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from benchmarks import local_aws
from benchmarks.consumers import Runner, run_loop, run_worker
from benchmarks.rows import Row, compared
from benchmarks.timing import Budget
from benchmarks.worker_common import (
    CONCURRENCY,
    LOOP_BASELINE,
    ROUND_TRIP,
    TASK_SLEEP,
    Delayed,
    Feeder,
    Progress,
    fake_queue,
    fill,
    quiet,
)
from taskworker.testing.fake_sqs import FakeSQS

NAME = "worker_throughput"
UNIT = "tasks/s"
MIN_RATIO = 10.0

Rates = dict[str, list[float]]


def run(budget: Budget) -> list[Row]:
    quiet()
    rounds = 1 if budget.smoke else 3
    fake = _rounds(rounds, _on_fake, worker_tasks=600, loop_tasks=100)
    moto = _on_moto(worker_tasks=60 if budget.smoke else 300, loop_tasks=30 if budget.smoke else 100)
    label = f"{TASK_SLEEP * 1000:g} ms tasks, concurrency {CONCURRENCY}"
    return [
        _row(f"worker, {label}, FakeSQS + {ROUND_TRIP * 1000:g} ms round trip", fake, MIN_RATIO),
        _row(f"worker, {label}, moto server (own process)", moto),
    ]


def _rounds(rounds: int, measure: Callable[..., Rates], **tasks: int) -> Rates:
    rates: Rates = {"worker": [], "loop": []}
    for _ in range(rounds):
        for name, values in measure(**tasks).items():
            rates[name] += values
    return rates


def _on_fake(worker_tasks: int, loop_tasks: int) -> Rates:
    fake = FakeSQS()
    client = Delayed(fake, ROUND_TRIP)
    rates: Rates = {}
    for name, runner, tasks in (("worker", run_worker, worker_tasks), ("loop", run_loop, loop_tasks)):
        url = fake_queue(fake, local_aws.unique(f"io-{name}"))
        fill(fake, url, tasks)
        rates[name] = [tasks / runner(client, url, tasks, TASK_SLEEP, Progress()).seconds]
    return rates


def _on_moto(worker_tasks: int, loop_tasks: int) -> Rates:
    rates: Rates = {}
    with local_aws.moto_in_subprocess() as endpoint:
        producer = local_aws.client(endpoint, "sqs")
        for name, runner, tasks in (("worker", run_worker, worker_tasks), ("loop", run_loop, loop_tasks)):
            rates[name] = [_fed(endpoint, producer, name, runner, tasks)]
    return rates


def _fed(endpoint: str, producer: Any, name: str, runner: Runner, tasks: int) -> float:
    url = producer.create_queue(QueueName=local_aws.unique(f"io-{name}"))["QueueUrl"]
    progress = Progress()
    with Feeder(producer, url, tasks, progress):
        consumer = local_aws.client(endpoint, "sqs")
        return tasks / runner(consumer, url, tasks, TASK_SLEEP, progress).seconds


def _row(name: str, rates: Rates, min_ratio: float | None = None) -> Row:
    ratio = statistics.median(w / b for w, b in zip(rates["worker"], rates["loop"], strict=True))
    worker, loop = statistics.median(rates["worker"]), statistics.median(rates["loop"])
    return compared(NAME, name, worker, UNIT, LOOP_BASELINE, loop, ratio=ratio, min_ratio=min_ratio)

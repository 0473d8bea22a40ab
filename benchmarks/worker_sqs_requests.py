"""Container worker: SQS requests per 1,000 tasks on a busy queue with no failures.

Sends are excluded (they are the producer's), everything the consumer asks of SQS counts:
receives, deletes, visibility changes. Counted on FakeSQS (its ``calls`` Counter) and on
moto's server in its own process (a boto3 ``before-call`` hook on the consumer's client).
Baseline: the hand-written loop (receive 10, handle, DeleteMessageBatch), measured in the
same run on the same endpoint: 200 per 1,000 tasks, the floor for a batching consumer.
Target: at most 1.05x the loop, i.e. 210 per 1,000 tasks. Peers, for reference (not
measured here): sqs-workers about 200, Celery/kombu and PyQS about 1,100.

Also for information: the cost with 20 ms tasks. Below 20 slots, full receives and full
slots exclude each other; the worker keeps its slots busy and pays with some short
receives. The loop's count does not depend on how long tasks take (one receive and one
delete per ten), so that row reuses the loop's figure from the FakeSQS run.
"""

from __future__ import annotations

from benchmarks import local_aws
from benchmarks.consumers import Runner, run_loop, run_worker
from benchmarks.rows import Row, compared
from benchmarks.timing import Budget
from benchmarks.worker_common import (
    LOOP_BASELINE,
    TASK_SLEEP,
    Feeder,
    Progress,
    fake_queue,
    fill,
    per_thousand,
    quiet,
)
from taskworker.testing.fake_sqs import FakeSQS

NAME = "worker_sqs_requests"
UNIT = "req/1000 tasks"
MAX_RATIO = 1.05


def run(budget: Budget) -> list[Row]:
    quiet()
    fake_tasks = 300 if budget.smoke else 1000
    moto_tasks = 200 if budget.smoke else 400
    worker, loop = _on_fake(fake_tasks, 0.0, (run_worker, run_loop))
    (slow_worker,) = _on_fake(fake_tasks, TASK_SLEEP, (run_worker,))
    moto_worker, moto_loop = _on_moto(moto_tasks)
    return [
        _row(f"worker, FakeSQS, {fake_tasks} tasks", worker, loop, MAX_RATIO),
        _row(f"worker, moto server, {moto_tasks} tasks", moto_worker, moto_loop, MAX_RATIO),
        _row(f"worker, FakeSQS, {TASK_SLEEP * 1000:g} ms tasks, {fake_tasks} tasks", slow_worker, loop),
    ]


def _on_fake(tasks: int, sleep: float, runners: tuple[Runner, ...]) -> list[float]:
    fake = FakeSQS()
    figures = []
    for runner in runners:
        url = fake_queue(fake, local_aws.unique(f"busy-{runner.__name__}"))
        fill(fake, url, tasks)
        fake.calls.clear()
        runner(fake, url, tasks, sleep, Progress())
        figures.append(per_thousand(fake.calls, tasks))
    return figures


def _on_moto(tasks: int) -> list[float]:
    figures = []
    with local_aws.moto_in_subprocess() as endpoint:
        producer = local_aws.client(endpoint, "sqs")
        for runner in (run_worker, run_loop):
            url = producer.create_queue(QueueName=local_aws.unique(f"busy-{runner.__name__}"))["QueueUrl"]
            consumer, counts = local_aws.counted_client(endpoint, "sqs")
            progress = Progress()
            with Feeder(producer, url, tasks, progress):
                runner(consumer, url, tasks, 0.0, progress)
            figures.append(per_thousand(counts, tasks))
    return figures


def _row(name: str, value: float, baseline: float, max_ratio: float | None = None) -> Row:
    return compared(NAME, name, value, UNIT, LOOP_BASELINE, baseline, max_ratio)

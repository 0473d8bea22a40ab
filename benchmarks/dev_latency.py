"""Dev mode: latency from ``POST /tasks/{type}`` to a ``succeeded`` status, both runtimes.

``taskworker dev``'s stack (``DevStack``: moto's server in this process, the local API,
the consumer, the results log) runs a trivial task; a client posts one task at a time,
then polls ``GET /tasks/{id}`` every 10 ms until the status is ``succeeded`` (so figures
include up to one poll interval). Tasks go one at a time, so the queue stays shallow.
Runtimes: ``lambda`` (the event-source emulation, default batching window 0) and
``worker`` (the container worker, concurrency 4, as ``taskworker dev`` starts it).

Baseline, measured in the same run, alternating with the tasks: a bare SQS round trip
(SendMessage, ReceiveMessage, DeleteMessage) on a separate queue of the same embedded
endpoint; the floor for anything that goes through a queue. Ratios of medians are paired
per round. Also reported: POST to the moment the task function starts, and for Lambda
POST to the moment the emulation invokes ``app.lambda_handler`` (timed by a wrapper set
on the app before the stack starts): that is the API's SendMessage plus the emulation's
receive, which the issue says should cost no more than a round trip plus the batching
window (the row names the window). The rest of the latency is the handler's own
DynamoDB and SNS writes, the status read and the 10 ms polling.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from benchmarks import local_aws
from benchmarks.rows import Row, compared
from benchmarks.timing import Budget, Samples
from taskworker import Settings, TaskApp
from taskworker.dev import DevStack, DevStackConfig
from taskworker.dev.demo import get, post
from taskworker.dev.resources import DevResources

NAME = "dev_latency"
TASK_TYPE = "bench.echo"
POLL_SECONDS = 0.010
TIMEOUT_SECONDS = 10.0
WARMUP = 3
BASELINE = "bare SQS send+receive+delete"


class Echo(BaseModel):
    n: int


@dataclass
class Timings:
    latency: list[float] = field(default_factory=list)
    to_start: list[float] = field(default_factory=list)
    to_invoke: list[float] = field(default_factory=list)
    round_trip: list[float] = field(default_factory=list)


def run(budget: Budget) -> list[Row]:
    tasks = 15 if budget.smoke else 200
    rows: list[Row] = []
    for runtime in ("lambda", "worker"):
        config = DevStackConfig(
            port=0, runtime=runtime, resources=DevResources(prefix=local_aws.unique("bench-dev"))
        )
        label = runtime
        if runtime == "lambda":
            label = f"lambda (batching window {config.event_source.batching_window:g} s)"
        timings = _measure(config, tasks)
        rows += _rows(label, timings, tasks)
    return rows


def _measure(config: DevStackConfig, tasks: int) -> Timings:
    started: dict[int, float] = {}
    logger = logging.getLogger("bench.dev")
    logger.setLevel(logging.ERROR)  # the worker logs its start and stop; the table is the output
    app = TaskApp("bench-dev", settings=Settings(), logger=logger)

    invoked: list[float] = []
    invoked_for: dict[int, float] = {}

    @app.task(TASK_TYPE)
    def echo(item: Echo) -> Echo:
        started[item.n] = time.perf_counter()
        if invoked:  # tasks go one at a time: the latest invocation is this task's
            invoked_for[item.n] = invoked[-1]
        return item

    if config.runtime == "lambda":
        handler = app.lambda_handler

        def timed(event: dict[str, Any], context: Any) -> dict[str, Any]:
            invoked.append(time.perf_counter())
            return handler(event, context)

        app.lambda_handler = timed  # type: ignore[method-assign]

    timings = Timings()
    with DevStack(app, config, printer=lambda line: None) as stack:
        assert stack.api is not None
        api = stack.api.url
        sqs = local_aws.client(stack.endpoint_url, "sqs")
        queue_url = sqs.create_queue(QueueName=local_aws.unique("bench-round-trip"))["QueueUrl"]
        for n in range(WARMUP + tasks):
            samples = [(_task, (api, n, started)), (_round_trip, (sqs, queue_url))]
            if n % 2:
                samples.reverse()
            figures = {sample.__name__: sample(*arguments) for sample, arguments in samples}
            if n < WARMUP:
                continue
            posted_at, latency = figures["_task"]
            timings.latency.append(latency)
            timings.to_start.append(started[n] - posted_at)
            if n in invoked_for:
                timings.to_invoke.append(invoked_for[n] - posted_at)
            timings.round_trip.append(figures["_round_trip"])
    return timings


def _task(api: str, n: int, started: dict[int, float]) -> tuple[float, float]:
    """(when the POST began, seconds until GET showed ``succeeded``)."""
    posted_at = time.perf_counter()
    code, body = post(api, TASK_TYPE, {"n": n})
    if code != 202:
        raise RuntimeError(f"POST /tasks/{TASK_TYPE} answered {code}: {body}")
    task_id = body["task_id"]
    while time.perf_counter() - posted_at < TIMEOUT_SECONDS:
        code, body = get(api, task_id)
        status = body.get("status") if code == 200 else None
        if status == "succeeded":
            return posted_at, time.perf_counter() - posted_at
        if status == "failed":
            raise RuntimeError(f"the trivial task failed: {body}")
        time.sleep(POLL_SECONDS)
    raise RuntimeError(f"task {task_id} did not succeed within {TIMEOUT_SECONDS:g} s")


def _round_trip(sqs: Any, queue_url: str) -> float:
    began = time.perf_counter()
    sqs.send_message(QueueUrl=queue_url, MessageBody="{}")
    messages: list[dict[str, Any]] = []
    while not messages:
        messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", [])
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])
    return time.perf_counter() - began


def _rows(label: str, timings: Timings, tasks: int) -> list[Row]:
    series = {"latency": timings.latency, "to_start": timings.to_start, "round_trip": timings.round_trip}
    if timings.to_invoke:
        series["to_invoke"] = timings.to_invoke
    samples = Samples(series)

    def median_row(name: str, contestant: str) -> Row:
        value, baseline = samples.median(contestant) * 1000, samples.median("round_trip") * 1000
        ratio = samples.ratio(contestant, "round_trip")
        return compared(NAME, name, value, "ms", f"{BASELINE}, p50", baseline, ratio=ratio)

    p95, baseline_p95 = _p95(timings.latency) * 1000, _p95(timings.round_trip) * 1000
    rows = [
        median_row(f"{label}: POST to succeeded, p50 of {tasks}", "latency"),
        compared(NAME, f"{label}: POST to succeeded, p95", p95, "ms", f"{BASELINE}, p95", baseline_p95),
        median_row(f"{label}: POST to task start, p50", "to_start"),
    ]
    if timings.to_invoke:
        rows.append(median_row(f"{label}: POST to handler invoked, p50", "to_invoke"))
    return rows


def _p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]

"""Container worker: SQS request cost and I/O-bound throughput, against hand-written loops.

(a) SQS requests per 1,000 tasks on a busy queue with no failures (sends excluded), counted
    on FakeSQS (its ``calls`` Counter) and on moto (a boto3 ``before-call.sqs.*`` hook).
    Baseline: a hand-written sequential loop (receive 10, handle, DeleteMessageBatch),
    which is the floor for a batching consumer. Target: <= 210 requests per 1,000 tasks.
(b) Tasks per second with I/O-bound tasks (20 ms sleep), worker at concurrency 16 versus
    the same hand-written loop, on the same endpoint. Target: >= 10x. Measured on
    FakeSQS behind a simulated 10 ms network round trip (the field notes: moto's cost per
    call grows with queue depth, which would measure moto rather than the worker) and,
    for information, on moto's server running in its own process: there each call costs
    about 50 ms at a depth of 200 and the server saturates at roughly 15 calls a second,
    so the worker is bound by moto, not by its own concurrency.
    Also for information: the request cost with those 20 ms tasks. Below 20 slots, full
    receives and full slots exclude each other; the worker keeps its slots busy and pays
    for it with some receives of six (about 225 requests per 1,000 tasks at 16 slots).

``run(quick)`` returns rows: name, value, unit, baseline, ratio, target (+ passed).
Run it alone with ``python benchmarks/worker_throughput.py [--quick]``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from pydantic import BaseModel

from taskworker import Settings, TaskApp
from taskworker.aws import Clients
from taskworker.handlers.worker import Worker, WorkerOptions
from taskworker.messages import send_attributes
from taskworker.testing.fake_sqs import FakeSQS

TASK_SLEEP = 0.020
CONCURRENCY = 16
ROUND_TRIP = 0.010
REGION = "us-east-1"


class Job(BaseModel):
    n: int


def make_app(sqs: Any, queue_url: str, sleep: float) -> TaskApp:
    app = TaskApp(
        "bench",
        settings=Settings(queue_url=queue_url, max_receive_count=5),
        clients=Clients(sqs=sqs),
        logger=logging.getLogger("bench.worker"),
    )

    @app.task("job")
    def job(item: Job) -> None:
        if sleep:
            time.sleep(sleep)

    return app


def fill(sqs: Any, queue_url: str, count: int) -> None:
    attributes = {k: {"DataType": "String", "StringValue": v} for k, v in send_attributes("job").items()}
    for start in range(0, count, 10):
        entries = [
            {"Id": str(i), "MessageBody": json.dumps({"n": start + i}), "MessageAttributes": attributes}
            for i in range(min(10, count - start))
        ]
        sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)


def run_worker(sqs: Any, queue_url: str, count: int, sleep: float) -> float:
    """Process ``count`` queued tasks with the worker; returns seconds until all settled."""
    app = make_app(sqs, queue_url, sleep)
    options = WorkerOptions(concurrency=CONCURRENCY, wait_time_seconds=1, visibility_timeout=60)
    worker = Worker(app, options)
    thread = threading.Thread(target=worker.run, daemon=True)
    started = time.perf_counter()
    thread.start()
    while worker.settled < count:
        time.sleep(0.002)
    elapsed = time.perf_counter() - started
    worker.stop()
    thread.join()
    return elapsed


def run_loop(sqs: Any, queue_url: str, count: int, sleep: float) -> float:
    """The hand-written baseline: receive 10, handle each, delete the batch; one thread."""
    done = 0
    started = time.perf_counter()
    while done < count:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
        ).get("Messages", [])
        for message in messages:
            Job.model_validate_json(message["Body"])
            time.sleep(sleep)
        if messages:
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
            sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
            done += len(messages)
    return time.perf_counter() - started


# ------------------------------------------------------------------------- endpoints


class Delayed:
    """A client proxy that adds a fixed network round trip to every request."""

    def __init__(self, client: Any, round_trip: float) -> None:
        self._client = client
        self._round_trip = round_trip

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            time.sleep(self._round_trip)
            return attribute(*args, **kwargs)

        return call


def fake_queue(fake: FakeSQS, name: str) -> str:
    return str(fake.create_queue(QueueName=name)["QueueUrl"])


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """moto's server in its own process, so its work does not share our GIL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.1):
                break
            time.sleep(0.05)
        yield endpoint
    finally:
        server.terminate()
        server.wait(10)


def moto_client(endpoint: str) -> Any:
    import boto3

    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(key, "testing")
    return boto3.client("sqs", endpoint_url=endpoint, region_name=REGION)


def counting(client: Any) -> Counter[str]:
    """Count every SQS request ``client`` makes, by operation."""
    counts: Counter[str] = Counter()

    def hook(model: Any, **_: Any) -> None:
        counts[model.name] += 1

    client.meta.events.register("before-call.sqs.*", hook)
    return counts


# ------------------------------------------------------------------------- rows


def per_thousand(counts: Counter[str], tasks: int) -> float:
    return sum(n for op, n in counts.items() if op not in ("SendMessageBatch", "CreateQueue")) * 1000 / tasks


def requests_fake(tasks: int, sleep: float = 0.0) -> dict[str, Any]:
    fake = FakeSQS()
    worker_url, loop_url = fake_queue(fake, "busy-worker"), fake_queue(fake, "busy-loop")
    fill(fake, worker_url, tasks)
    fill(fake, loop_url, tasks)
    fake.calls.clear()
    run_worker(fake, worker_url, tasks, sleep=sleep)
    worker = per_thousand(fake.calls, tasks)
    fake.calls.clear()
    run_loop(fake, loop_url, tasks, sleep=sleep)
    if not sleep:
        return request_row("FakeSQS", worker, per_thousand(fake.calls, tasks), tasks)
    result = request_row(
        f"FakeSQS, {sleep * 1000:g} ms tasks", worker, per_thousand(fake.calls, tasks), tasks
    )
    # Informational: below 20 slots, full receives and full slots exclude each other.
    return {**result, "target": "info", "passed": None}


def requests_moto(endpoint: str, tasks: int) -> dict[str, Any]:
    producer = moto_client(endpoint)
    values = []
    for runner, name in ((run_worker, "busy-worker"), (run_loop, "busy-loop")):
        url = producer.create_queue(QueueName=f"{name}-{time.time_ns()}")["QueueUrl"]
        fill(producer, url, tasks)
        consumer = moto_client(endpoint)
        counts = counting(consumer)
        runner(consumer, url, tasks, 0.0)
        values.append(per_thousand(counts, tasks))
    return request_row("moto", values[0], values[1], tasks)


def request_row(endpoint: str, value: float, baseline: float, tasks: int) -> dict[str, Any]:
    return row(
        f"worker SQS requests per 1000 tasks ({endpoint}, {tasks} tasks, busy queue)",
        value,
        "requests/1000 tasks",
        baseline,
        "hand-written loop: receive 10 + DeleteMessageBatch",
        "<= 210",
        value <= 210,
    )


def throughput(
    label: str, client_for: Callable[[], Any], make_queue: Callable[[Any, str], str], tasks: int
) -> dict[str, Any]:
    rates = []
    for runner in (run_worker, run_loop):
        client = client_for()
        url = make_queue(client, f"io-{runner.__name__}-{time.time_ns()}")
        fill(client, url, tasks)
        rates.append(tasks / runner(client, url, tasks, TASK_SLEEP))
    ratio = rates[0] / rates[1]
    informational = label.startswith("moto")  # bound by moto's own per-call cost, see the docstring
    return row(
        f"worker throughput, 20 ms I/O tasks, concurrency {CONCURRENCY} ({label}, {tasks} tasks)",
        rates[0],
        "tasks/s",
        rates[1],
        "single-threaded boto3 loop: receive 10, handle, delete batch",
        "info" if informational else ">= 10x",
        None if informational else ratio >= 10,
        ratio=ratio,
    )


def row(
    name: str,
    value: float,
    unit: str,
    baseline: float,
    baseline_name: str,
    target: str,
    passed: bool | None,
    ratio: float | None = None,
) -> dict[str, Any]:
    return {
        "name": name,
        "value": round(value, 1),
        "unit": unit,
        "baseline": round(baseline, 1),
        "baseline_name": baseline_name,
        "ratio": round(ratio if ratio is not None else value / baseline, 2),
        "target": target,
        "passed": passed,
    }


def run(quick: bool) -> list[dict[str, Any]]:
    logging.getLogger("bench").setLevel(logging.ERROR)
    rows = [requests_fake(300 if quick else 1000), requests_fake(300 if quick else 600, TASK_SLEEP)]
    fake = FakeSQS()
    rows.append(
        throughput(
            f"FakeSQS + {ROUND_TRIP * 1000:g} ms round trip",
            lambda: Delayed(fake, ROUND_TRIP),
            lambda client, name: fake_queue(fake, name),
            200 if quick else 600,
        )
    )
    with moto_server() as endpoint:
        rows.append(requests_moto(endpoint, 200 if quick else 400))
        rows.append(
            throughput(
                "moto server, own process",
                lambda: moto_client(endpoint),
                lambda client, name: str(client.create_queue(QueueName=name)["QueueUrl"]),
                100 if quick else 200,
            )
        )
    return rows


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    for result in run(quick="--quick" in sys.argv):
        print(json.dumps(result))

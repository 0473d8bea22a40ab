"""The container-worker contestants: taskworker's worker and what a team writes without it.

Each consumes ``count`` tasks from one queue and returns a :class:`Timing`: the seconds
until the last task was settled (deleted) and the CPU this process spent meanwhile
(every thread's, so the worker's receiver, settler and heartbeat are all charged). The
hand-written baselines all validate the body into the same model, as the worker does:

- :func:`run_loop`, one thread: receive 10, handle each, DeleteMessageBatch. The floor
  for a batching consumer's requests (200 per 1,000 tasks) and for CPU per task;
- :func:`run_pool_batch`, one receiving thread: receive 10, run the ten on a 16-thread
  pool, wait for all, DeleteMessageBatch;
- :func:`run_pollers`, 16 threads each running :func:`run_loop`'s body on one shared
  client: the ceiling a team reaches for I/O-bound work with no shared machinery.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from benchmarks.worker_common import CONCURRENCY, Job, Progress, make_app
from taskworker.handlers.worker import SqsTransport, Worker, WorkerOptions

PROGRESS_POLL = 0.001
"""The shortest wait between two reads of the worker's progress."""


@dataclass(frozen=True, slots=True)
class Timing:
    seconds: float
    cpu_seconds: float


Runner = Callable[[Any, str, int, float, Progress], Timing]


class _Clock:
    """Wall and process CPU time since construction."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self._cpu = time.process_time()

    def timing(self) -> Timing:
        return Timing(time.perf_counter() - self.started, time.process_time() - self._cpu)


def run_worker(
    sqs: Any,
    queue_url: str,
    count: int,
    sleep: float,
    progress: Progress,
    *,
    transport: SqsTransport = "boto3",
) -> Timing:
    """taskworker's :class:`Worker` at concurrency 16 until ``count`` tasks were settled."""
    app = make_app(sqs, queue_url, sleep)
    options = WorkerOptions(
        concurrency=CONCURRENCY, wait_time_seconds=1, visibility_timeout=60, sqs_transport=transport
    )
    worker = Worker.for_app(app, options)
    thread = threading.Thread(target=worker.run, daemon=True)
    progress.follow(lambda: worker.settled)  # live for a Feeder, with no polling
    clock = _Clock()
    thread.start()
    while (settled := worker.settled) < count:
        time.sleep(_until_next_look(clock, settled, count))
    timing = clock.timing()
    worker.stop()
    thread.join()
    return timing


def run_direct_worker(sqs: Any, queue_url: str, count: int, sleep: float, progress: Progress) -> Timing:
    """:func:`run_worker` with the direct SQS transport (receives and deletes skip botocore's pipeline)."""
    return run_worker(sqs, queue_url, count, sleep, progress, transport="direct")


def _until_next_look(clock: _Clock, settled: int, count: int) -> float:
    """Half the time the rest should take at the rate so far, so this thread looks at the
    worker's progress a few dozen times per run, not hundreds of times a second: each look
    wakes it, and its CPU and GIL hand-offs are charged to the worker."""
    elapsed = time.perf_counter() - clock.started
    if not settled:
        return 0.01
    rest = elapsed / settled * (count - settled)
    return max(PROGRESS_POLL, min(0.5, rest / 2))


def run_loop(sqs: Any, queue_url: str, count: int, sleep: float, progress: Progress) -> Timing:
    """The hand-written baseline: receive 10, handle each, delete the batch; one thread."""
    clock = _Clock()
    while progress.done < count:
        messages = _receive(sqs, queue_url)
        for message in messages:
            _handle(message, sleep)
        _delete(sqs, queue_url, messages)
        progress.done += len(messages)
    return clock.timing()


def run_pool_batch(sqs: Any, queue_url: str, count: int, sleep: float, progress: Progress) -> Timing:
    """Receive 10, run them on a 16-thread pool, wait for the ten, delete the batch."""
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        clock = _Clock()
        while progress.done < count:
            messages = _receive(sqs, queue_url)
            list(pool.map(lambda message: _handle(message, sleep), messages))
            _delete(sqs, queue_url, messages)
            progress.done += len(messages)
        return clock.timing()


def run_pollers(sqs: Any, queue_url: str, count: int, sleep: float, progress: Progress) -> Timing:
    """16 threads, each receiving 10, handling them in turn and deleting the batch.

    Timed until the last task was deleted; pollers still in a long poll then are joined
    afterwards, untimed (their empty receives are counted as requests all the same).
    """
    lock = threading.Lock()
    finished = threading.Event()
    timings: list[Timing] = []
    clock = _Clock()

    def poll() -> None:
        while not finished.is_set():
            messages = _receive(sqs, queue_url)
            for message in messages:
                _handle(message, sleep)
            _delete(sqs, queue_url, messages)
            with lock:
                progress.done += len(messages)
                if progress.done >= count and not finished.is_set():
                    timings.append(clock.timing())
                    finished.set()

    threads = [threading.Thread(target=poll, daemon=True) for _ in range(CONCURRENCY)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timings[0]


def _receive(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    response = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
    )
    messages: list[dict[str, Any]] = response.get("Messages", [])
    return messages


def _handle(message: dict[str, Any], sleep: float) -> None:
    Job.model_validate_json(message["Body"])
    if sleep:
        time.sleep(sleep)


def _delete(sqs: Any, queue_url: str, messages: list[dict[str, Any]]) -> None:
    if messages:
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)

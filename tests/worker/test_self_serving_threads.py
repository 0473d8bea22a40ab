"""The worker's thread pool: a finishing task's successor runs on the same thread."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any

from taskworker.handlers.worker_pool import SelfServingThreads


def test_a_job_submitted_by_a_finishing_job_runs_on_that_thread_and_wakes_nobody():
    threads = SelfServingThreads(4, thread_name_prefix="test")
    ran_on: list[str] = []
    done = threading.Event()

    def record(last: bool) -> None:
        ran_on.append(threading.current_thread().name)
        if last:
            done.set()

    gate = threading.Barrier(2)
    warm = [threads.submit(gate.wait, 10) for _ in range(2)]  # two threads, both idle after
    for job in warm:
        job.result(timeout=10)
    first = threads.submit(record, False)
    first.add_done_callback(lambda _: threads.submit(record, True))
    assert done.wait(10)
    assert ran_on[0] == ran_on[1]
    threads.shutdown(wait=True)


def test_shutdown_cancels_jobs_not_started_and_finishes_the_running_one():
    threads = SelfServingThreads(1, thread_name_prefix="test")
    started, release = threading.Event(), threading.Event()

    def hold() -> bool:
        started.set()
        return release.wait(10)

    running = threads.submit(hold)
    assert started.wait(10)
    waiting = [threads.submit(lambda: None) for _ in range(3)]
    assert waiting[0].cancel()  # cancellable until a thread takes it
    stopper = threading.Thread(target=threads.shutdown, kwargs={"wait": True})
    stopper.start()
    release.set()
    stopper.join(10)
    assert not stopper.is_alive()
    assert running.result(timeout=1) is True
    assert all(job.cancelled() for job in waiting)


def test_jobs_submitted_together_that_block_all_run_at_once():
    """Waking one thread at a time must still spread blocking (I/O) jobs over every thread."""
    size = 8
    threads = SelfServingThreads(size, thread_name_prefix="test")
    everyone = threading.Barrier(size)
    jobs = [threads.submit(everyone.wait, 10) for _ in range(size)]  # each returns only once all wait
    assert sorted(job.result(timeout=20) for job in jobs) == list(range(size))
    threads.shutdown(wait=True)


def test_jobs_submitted_from_many_threads_all_run_and_idle_threads_are_reused():
    threads = SelfServingThreads(4, thread_name_prefix="test")
    results: list[int] = []
    lock = threading.Lock()

    def record(value: int) -> int:
        with lock:
            results.append(value)
        return value

    def submit_burst(first: int, into: list[Future[Any]]) -> None:
        into.extend(threads.submit(record, first + i) for i in range(250))

    for _ in range(3):  # bursts separated by idle time: woken threads must be counted back
        futures: list[Future[Any]] = []
        submitters = [threading.Thread(target=submit_burst, args=(n * 250, futures)) for n in range(4)]
        for submitter in submitters:
            submitter.start()
        for submitter in submitters:
            submitter.join(10)
        assert [future.result(timeout=20) for future in futures]
        assert len(futures) == 1000
    assert sorted(results) == sorted(list(range(1000)) * 3)
    threads.shutdown(wait=True)

"""The worker's thread pool: a finishing task's successor runs on the same thread."""

from __future__ import annotations

import threading

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

"""Worker logic on the in-memory FakeSQS: batching, retries, DLQ, per-entry failures."""

from __future__ import annotations

import json
import time

import pytest
from pydantic import BaseModel

from taskworker import PermanentError, TaskApp
from taskworker.testing.fake_sqs import FakeSQS
from tests.worker.helpers import (
    Recorder,
    make_app,
    make_queues,
    queue_depth,
    running_worker,
    send,
    wait_until,
)


class Item(BaseModel):
    n: int
    sleep: float = 0.0
    fail_times: int = 0


class Echo(BaseModel):
    n: int


@pytest.fixture
def fake() -> FakeSQS:
    return FakeSQS()


@pytest.fixture
def setup(fake: FakeSQS) -> tuple[TaskApp, str, str, Recorder]:
    queue_url, dlq_url = make_queues(fake, "tasks")
    app = make_app("unit", fake, queue_url, dlq_url)
    recorder = Recorder()
    attempts: dict[int, int] = {}

    @app.task("echo")
    def echo(item: Item) -> Echo:
        recorder.enter(item.n)
        try:
            time.sleep(item.sleep)
            attempts[item.n] = attempts.get(item.n, 0) + 1
            if attempts[item.n] <= item.fail_times:
                raise RuntimeError(f"flaky {item.n}")
            return Echo(n=item.n)
        finally:
            recorder.leave()

    @app.task("doomed")
    def doomed(item: Item) -> None:
        raise PermanentError(f"item {item.n} can never work")

    return app, queue_url, dlq_url, recorder


def slow_app(fake: FakeSQS, name: str, *, timeout: float) -> tuple[TaskApp, str, Recorder]:
    """An app with one task ``slow`` that sleeps ``item.sleep`` within ``timeout``."""
    queue_url, dlq_url = make_queues(fake, name)
    app = make_app(name, fake, queue_url, dlq_url, deadline_margin_seconds=0.1)
    recorder = Recorder()

    @app.task("slow", timeout=timeout)
    def slow(item: Item) -> None:
        recorder.enter(item.n)
        time.sleep(item.sleep)
        recorder.leave()

    return app, queue_url, recorder


def drained(fake: FakeSQS, url: str) -> bool:
    return queue_depth(fake, url) == (0, 0)


def test_processes_every_message_once_with_batched_requests(fake, setup):
    app, queue_url, _, recorder = setup
    send(fake, queue_url, "echo", [{"n": i} for i in range(100)])
    fake.calls.clear()
    with running_worker(app, concurrency=10, linger_seconds=0.05) as worker:
        wait_until(lambda: worker.stats["finished"] == 100 and drained(fake, queue_url))
    assert sorted(recorder.calls) == list(range(100))
    assert fake.calls["DeleteMessageBatch"] <= 15
    assert fake.calls["ReceiveMessage"] <= 20
    assert "ChangeMessageVisibilityBatch" not in fake.calls


def test_transient_failure_is_retried_then_succeeds(fake, setup):
    app, queue_url, dlq_url, recorder = setup
    send(fake, queue_url, "echo", [{"n": 1, "fail_times": 1}])
    with running_worker(app, concurrency=2) as worker:
        wait_until(lambda: drained(fake, queue_url) and worker.stats["finished"] == 2)
    assert recorder.calls == [1, 1]
    assert queue_depth(fake, dlq_url) == (0, 0)
    assert fake.calls["ChangeMessageVisibilityBatch"] >= 1  # the retry delay was applied


def test_permanent_failure_goes_to_the_dlq_with_its_reason(fake, setup):
    app, queue_url, dlq_url, _ = setup
    send(fake, queue_url, "doomed", [{"n": 7}])
    send(fake, queue_url, "nope", [{"n": 8}])
    with running_worker(app):
        wait_until(lambda: drained(fake, queue_url) and queue_depth(fake, dlq_url)[0] == 2)
    messages = fake.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    errors = {m["MessageAttributes"]["error_type"]["StringValue"] for m in messages["Messages"]}
    assert errors == {"PermanentError", "UnknownTaskType"}


def test_exhausted_retries_are_redriven_by_sqs(fake, setup):
    app, queue_url, dlq_url, recorder = setup
    send(fake, queue_url, "echo", [{"n": 3, "fail_times": 99}])
    with running_worker(app):
        wait_until(lambda: len(recorder.calls) == 3)
        wait_until(lambda: queue_depth(fake, queue_url)[1] == 0)
    fake.receive_message(QueueUrl=queue_url)  # the next receive lets redrive move it
    assert queue_depth(fake, dlq_url)[0] == 1


def test_holds_at_most_one_receive_beyond_its_slots(fake, setup):
    """Slots busy plus one full receive queued behind them (the heartbeat covers them all)."""
    app, queue_url, _, recorder = setup
    send(fake, queue_url, "echo", [{"n": i, "sleep": 0.1} for i in range(12)])
    held: list[int] = []
    with running_worker(app, concurrency=3) as worker:
        while worker.stats["finished"] < 12:
            held.append(worker._held)  # received and not yet finished
            time.sleep(0.01)
    assert max(held) <= 3 + 3  # receives are min(10, concurrency) big
    assert recorder.max_active == 3
    assert sorted(recorder.calls) == list(range(12))


def test_a_message_waiting_for_a_slot_gets_its_whole_time_limit_once_it_starts(fake):
    """Received ahead of a free slot, it waits longer than its visibility timeout; its
    time limit counts from its start, so it is neither let go nor delivered again."""
    app, queue_url, recorder = slow_app(fake, "ahead", timeout=2.5)
    send(fake, queue_url, "slow", [{"n": 1, "sleep": 2.0}, {"n": 2, "sleep": 2.0}])
    held: list[int] = []
    with running_worker(app, concurrency=1, visibility_timeout=1) as worker:
        while worker.stats["finished"] < 2:
            held.append(worker._held)
            time.sleep(0.01)
        wait_until(lambda: drained(fake, queue_url))
    assert max(held) == 2  # the second was received while the first ran
    assert recorder.calls == [1, 2]  # 2 s waiting + 2 s running > 2.7 s from receive
    assert worker.stats["let_go"] == 0


@pytest.mark.parametrize("operation", ["DeleteMessageBatch", "ChangeMessageVisibilityBatch"])
def test_failed_batch_entries_are_retried(fake, setup, operation):
    app, queue_url, _, recorder = setup
    fail_times = 1 if operation == "ChangeMessageVisibilityBatch" else 0
    send(fake, queue_url, "echo", [{"n": i, "fail_times": fail_times} for i in range(4)])
    fake.fail_next(operation, entries=["0", "2"])
    fake.fail_next(operation)  # and one whole call
    with running_worker(app, linger_seconds=0.2, visibility_timeout=2) as worker:
        wait_until(lambda: drained(fake, queue_url) and worker.stats["finished"] == 4 + 4 * fail_times)
    assert sorted(recorder.calls) == sorted(list(range(4)) * (1 + fail_times))  # nothing ran twice more


def test_failed_dlq_entries_are_retried(fake, setup):
    app, queue_url, dlq_url, _ = setup
    send(fake, queue_url, "doomed", [{"n": i} for i in range(3)])
    fake.fail_next("SendMessageBatch", entries=["1"])
    with running_worker(app, linger_seconds=0.2):
        wait_until(lambda: drained(fake, queue_url) and queue_depth(fake, dlq_url)[0] == 3)


def test_receive_errors_are_survived(fake, setup):
    app, queue_url, _, recorder = setup
    fake.fail_next("ReceiveMessage", count=2)
    send(fake, queue_url, "echo", [{"n": 1}])
    with running_worker(app):
        wait_until(lambda: drained(fake, queue_url), timeout=10)
    assert recorder.calls == [1]


def test_heartbeat_keeps_a_long_task_invisible(fake, setup):
    app, queue_url, _, recorder = setup
    send(fake, queue_url, "echo", [{"n": 1, "sleep": 3.5}])
    with running_worker(app, visibility_timeout=1) as worker:
        wait_until(lambda: worker.stats["finished"] == 1, timeout=15)
        wait_until(lambda: drained(fake, queue_url))
    assert recorder.calls == [1]
    assert fake.calls["ChangeMessageVisibilityBatch"] >= 3


def test_heartbeat_stops_at_the_task_timeout(fake):
    app, queue_url, recorder = slow_app(fake, "short", timeout=1)
    send(fake, queue_url, "slow", [{"n": 1, "sleep": 3.5}])
    with running_worker(app, visibility_timeout=1, concurrency=2):
        wait_until(lambda: len(recorder.calls) == 2, timeout=10)  # hung past its limit: delivered again


def test_exit_when_empty(fake, setup):
    app, queue_url, _, recorder = setup
    send(fake, queue_url, "echo", [{"n": i} for i in range(5)])
    with running_worker(app, exit_when_empty=True) as worker:
        wait_until(lambda: worker._stopping.is_set(), timeout=10)
    assert sorted(recorder.calls) == list(range(5))
    assert drained(fake, queue_url)


def test_graceful_stop_finishes_running_and_gives_back_the_rest(fake):
    queue_url, dlq_url = make_queues(fake, "fifo-stop", fifo=True)
    app = make_app("stop", fake, queue_url, dlq_url)
    recorder = Recorder()

    @app.task("step")
    def step(item: Item) -> None:
        recorder.enter(item.n)
        time.sleep(item.sleep)
        recorder.leave()

    send(fake, queue_url, "step", [{"n": i, "sleep": 0.5} for i in range(4)], group="g")
    with running_worker(app, concurrency=4, visibility_timeout=30):
        wait_until(lambda: recorder.calls == [0])
    # the running task finished and was deleted; the three waiting ones are visible again
    # now. The receiver's last long poll is still in flight at the stop: once the delete
    # frees the group it takes the three again, and the stop waits for it to give them back.
    assert recorder.calls == [0]
    assert queue_depth(fake, queue_url) == (3, 0)
    body = fake.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"][0]["Body"]
    assert json.loads(body)["n"] == 1


def test_configuration_errors_are_clear(fake):
    from taskworker import Settings
    from taskworker.handlers.worker import Worker, WorkerConfigError, WorkerOptions

    app = make_app("config", fake, "")
    app.configure(settings=Settings())
    with pytest.raises(WorkerConfigError, match="TASKWORKER_QUEUE_URL"):
        Worker.for_app(app)
    with pytest.raises(WorkerConfigError, match="cannot read queue"):
        Worker.for_app(app, queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/missing").run()
    with pytest.raises(WorkerConfigError, match="concurrency"):
        Worker.for_app(app, WorkerOptions(concurrency=0), queue_url="q")


def test_the_process_pool_finds_the_app_by_its_import_path():
    import examples.reports
    from taskworker.handlers.worker_pool import find_app_path

    assert find_app_path(examples.reports.app) == "examples.reports:app"


def test_failed_heartbeat_entries_are_retried(fake, setup):
    app, queue_url, _, recorder = setup
    send(fake, queue_url, "echo", [{"n": 1, "sleep": 2.5}])
    fake.fail_next("ChangeMessageVisibilityBatch", entries=["0"])  # the first extension's entry
    with running_worker(app, visibility_timeout=1) as worker:
        wait_until(lambda: worker.stats["finished"] == 1, timeout=10)
        wait_until(lambda: drained(fake, queue_url))
    assert recorder.calls == [1]  # never delivered twice

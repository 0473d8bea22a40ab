"""SIGKILL mid-task with idempotency on: a killed attempt's lock must not condemn its task.

The worker runs in a subprocess against moto's server (idempotency, status, result
events, a DLQ with ``maxReceiveCount`` 5); it is killed twice while tasks run, with and
without a ``timeout``, and restarted. Every task must end ``succeeded``, with one
terminal event per ``(task_id, status)`` and nothing in the DLQ.
"""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from taskworker import Settings, TaskApp
from taskworker.aws import Clients
from tests.integration.moto_stack import Stack, make_stack
from tests.moto_env import MotoQueues
from tests.worker.helpers import queue_depth, send, wait_until
from tests.worker.test_worker_moto import events, start_worker, write_module

KILLS = 2
MAX_KILLS = 6
PER_KIND = 10

KILL_APP = """
import os, time
from pydantic import BaseModel
from taskworker import TaskApp

app = TaskApp("killed")

class Job(BaseModel):
    n: int
    sleep: float = 0.6

class Ran(BaseModel):
    n: int

def note(line):
    fd = os.open(os.environ["JOURNAL"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(fd, (line + "\\n").encode())
    os.close(fd)

def run(item):
    note(f"start {item.n}")
    time.sleep(item.sleep)
    note(f"done {item.n}")
    return Ran(n=item.n)

@app.task("timed", timeout=5)
def timed(item: Job) -> Ran:
    return run(item)

@app.task("untimed")
def untimed(item: Job) -> Ran:
    return run(item)
"""


@pytest.fixture
def stack(moto_endpoint: str) -> Stack:
    return make_stack(moto_endpoint, max_receives=5)


def test_killed_attempts_never_send_a_task_to_the_dlq(stack: Stack, tmp_path: Path) -> None:
    write_module(tmp_path, "journal_app", KILL_APP)
    queues = MotoQueues(stack.endpoint, stack.sqs, stack.queue_url, stack.dlq_url)
    env = {
        "TASKWORKER_IDEMPOTENCY_TABLE": stack.idempotency_table,
        "TASKWORKER_STATUS_TABLE": stack.status_table,
        "TASKWORKER_RESULT_TOPIC_ARN": stack.topic_arn,
        "TASKWORKER_BACKOFF_BASE_SECONDS": "1",
        "TASKWORKER_BACKOFF_MAX_SECONDS": "2",
    }
    options = ("--concurrency", "4", "--visibility-timeout", "2")
    ids: list[str] = []
    for n in range(0, 2 * PER_KIND, 2):  # interleaved, so that each kill hits both kinds
        ids += send(stack.sqs, stack.queue_url, "timed", [{"n": n}])
        ids += send(stack.sqs, stack.queue_url, "untimed", [{"n": n + 1}])
    everything = set(range(2 * PER_KIND))
    interrupted: set[int] = set()

    kills = 0
    while kills < KILLS or {n % 2 for n in interrupted} != {0, 1}:
        assert kills < MAX_KILLS, "the kills should hit tasks with and without timeout"
        interrupted |= kill_mid_run(queues, tmp_path, options, env)
        kills += 1

    worker = start_worker(queues, tmp_path, *options, env=env)
    try:
        wait_until(lambda: set(events(tmp_path, "done")) == everything, timeout=45)
        wait_until(lambda: queue_depth(stack.sqs, stack.queue_url) == (0, 0), timeout=20)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=15) == 0
    finally:
        worker.kill()

    statuses = status_reader(stack)
    assert {task_id: statuses(task_id) for task_id in ids} == dict.fromkeys(ids, "succeeded")
    terminal = Counter((e["task_id"], e["status"]) for e in stack.events())
    assert set(terminal) == {(task_id, "succeeded") for task_id in ids}
    assert stack.dead_letters() == []


def kill_mid_run(
    queues: MotoQueues, tmp_path: Path, options: tuple[str, ...], env: dict[str, str]
) -> set[int]:
    """Start a worker, SIGKILL it once four more tasks started; returns the tasks it cut off."""
    before = events(tmp_path, "start")
    worker = start_worker(queues, tmp_path, *options, env=env)
    try:
        wait_until(lambda: sum((events(tmp_path, "start") - before).values()) >= 4, timeout=30)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        worker.kill()
    cut = set(events(tmp_path, "start") - before) - set(events(tmp_path, "done"))
    assert cut, "the kill should hit running tasks"
    return cut


def status_reader(stack: Stack) -> Callable[[str], str | None]:
    settings = Settings(status_table=stack.status_table)
    app = TaskApp("reader", settings=settings, clients=Clients(dynamodb=stack.dynamodb))

    def status(task_id: str) -> str | None:
        found = app.get_status(task_id)
        return None if found is None else found.status

    return status

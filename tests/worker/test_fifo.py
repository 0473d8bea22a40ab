"""FIFO queues: one message at a time per group, in order; groups in parallel."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from pydantic import BaseModel

from taskworker.testing.fake_sqs import FakeSQS
from tests.worker.helpers import make_app, make_queues, queue_depth, running_worker, send, wait_until


class Step(BaseModel):
    group: str
    n: int
    fail_once: bool = False


def fifo_app(
    sqs: Any, queue_url: str, dlq_url: str
) -> tuple[Any, list[tuple[str, int, str]], dict[str, int]]:
    app = make_app("fifo", sqs, queue_url, dlq_url)
    journal: list[tuple[str, int, str]] = []
    lock = threading.Lock()
    active: dict[str, int] = {"max_groups": 0}
    failed: set[tuple[str, int]] = set()

    @app.task("step")
    def step(item: Step) -> None:
        with lock:
            journal.append((item.group, item.n, "start"))
            if active.get(item.group, 0):
                active["overlap"] = 1  # two messages of one group ran at once
            active[item.group] = 1
            running = sum(
                1 for key, value in active.items() if key not in ("max_groups", "overlap") and value
            )
            active["max_groups"] = max(active["max_groups"], running)
        time.sleep(0.05)
        with lock:
            active[item.group] = 0
        if item.fail_once and (item.group, item.n) not in failed:
            failed.add((item.group, item.n))
            raise RuntimeError("fails once")
        with lock:
            journal.append((item.group, item.n, "done"))

    return app, journal, active


def completion_order(journal: list[tuple[str, int, str]], group: str) -> list[int]:
    return [n for g, n, event in journal if g == group and event == "done"]


@pytest.mark.parametrize("backend", ["fake", "moto"])
def test_groups_in_order_and_in_parallel(backend, request):
    if backend == "fake":
        sqs = FakeSQS()
        queue_url, dlq_url = make_queues(sqs, "order", fifo=True)
    else:
        queues = request.getfixturevalue("moto_fifo_queues")
        sqs, queue_url, dlq_url = queues.sqs, queues.queue_url, queues.dlq_url
    app, journal, active = fifo_app(sqs, queue_url, dlq_url)
    for group in "abc":
        send(sqs, queue_url, "step", [{"group": group, "n": n} for n in range(5)], group=group)
    with running_worker(app, concurrency=6):
        wait_until(lambda: sum(1 for *_, event in journal if event == "done") == 15, timeout=30)
    for group in "abc":
        assert completion_order(journal, group) == list(range(5))
    assert active["max_groups"] > 1
    assert "overlap" not in active


def test_a_retried_message_is_not_overtaken_by_its_group():
    sqs = FakeSQS()
    queue_url, dlq_url = make_queues(sqs, "retry", fifo=True)
    app, journal, _ = fifo_app(sqs, queue_url, dlq_url)
    payloads = [{"group": "g", "n": n, "fail_once": n == 1} for n in range(4)]
    send(sqs, queue_url, "step", payloads, group="g")
    with running_worker(app, concurrency=4):
        wait_until(lambda: completion_order(journal, "g") == [0, 1, 2, 3], timeout=20)
        wait_until(lambda: queue_depth(sqs, queue_url) == (0, 0))
    starts = [n for g, n, event in journal if event == "start"]
    assert starts == [0, 1, 1, 2, 3]

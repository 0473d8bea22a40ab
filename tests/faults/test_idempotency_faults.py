"""Idempotency under faults, against moto's server over HTTP through the fault proxy.

Every test checks the final state of every task: it ran (at least once), its status is
final and right, it has exactly one terminal event per ``(task_id, status)`` (the
documented de-duplication key), and nothing that succeeded is in the DLQ.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import boto3
import pytest
from botocore.config import Config
from pydantic import BaseModel

from taskworker import TaskApp
from taskworker.aws import Clients
from tests.faults.proxy import FaultProxy
from tests.integration.moto_stack import Stack, make_stack

FEW_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 3})
TASKS = 10


class Job(BaseModel):
    n: int


class Ran(BaseModel):
    n: int


@pytest.fixture
def stack(moto_endpoint: str) -> Stack:
    return make_stack(moto_endpoint, max_receives=3)


def faulty_app(stack: Stack, proxy: FaultProxy, runs: Counter[int], **settings: Any) -> TaskApp:
    """An app whose DynamoDB calls go through the proxy (SQS and SNS go straight to moto)."""
    dynamodb = boto3.client("dynamodb", endpoint_url=proxy.url, region_name="us-east-1", config=FEW_RETRIES)
    app = TaskApp(
        "faults",
        settings=stack.settings(backoff_base_seconds=0.0, backoff_max_seconds=0.0, **settings),
        clients=Clients(sqs=stack.sqs, sns=stack.sns, dynamodb=dynamodb),
    )

    @app.task("job")
    def job(item: Job) -> Ran:
        runs[item.n] += 1
        return Ran(n=item.n)

    return app


def send_jobs(stack: Stack, count: int = TASKS) -> dict[str, int]:
    return {stack.send("job", {"n": n}): n for n in range(count)}


def assert_all_succeeded_once(stack: Stack, app: TaskApp, tasks: dict[str, int], runs: Counter[int]) -> None:
    """The final-state check shared by every fault test."""
    assert set(runs) == set(tasks.values())  # every task ran
    for task_id in tasks:
        status = app.get_status(task_id)
        assert status is not None, task_id
        assert status.status == "succeeded", (task_id, status)
    terminal = Counter((e["task_id"], e["status"]) for e in stack.events())
    assert set(terminal) == {(task_id, "succeeded") for task_id in tasks}
    assert stack.dead_letters() == []
    assert stack.visible_count() == 0


def test_a_success_whose_result_write_fails_is_reported_as_a_success(stack: Stack, proxy: FaultProxy) -> None:
    runs: Counter[int] = Counter()
    app = faulty_app(stack, proxy, runs)
    proxy.inject("dynamodb", "UpdateItem", "error", body_contains=stack.idempotency_table)
    tasks = send_jobs(stack)

    response = stack.deliver(app, expect=TASKS)

    assert response == {"batchItemFailures": []}
    assert proxy.injected[("dynamodb", "UpdateItem", "error")] >= TASKS  # every write failed
    assert runs == Counter(dict.fromkeys(range(TASKS), 1))
    assert_all_succeeded_once(stack, app, tasks, runs)


def test_a_lock_whose_write_answer_was_lost_is_recognised_as_its_own(stack: Stack, proxy: FaultProxy) -> None:
    runs: Counter[int] = Counter()
    app = faulty_app(stack, proxy, runs)
    tasks: dict[str, int] = {}
    for n in range(TASKS):
        proxy.inject("dynamodb", "PutItem", "drop", times=1, body_contains=stack.idempotency_table)
        tasks[stack.send("job", {"n": n})] = n

        response = stack.deliver(app, expect=1)

        assert response == {"batchItemFailures": []}  # botocore's retry met its own lock and went on
    assert proxy.injected[("dynamodb", "PutItem", "drop")] == TASKS
    assert runs == Counter(dict.fromkeys(range(TASKS), 1))
    assert_all_succeeded_once(stack, app, tasks, runs)


def test_a_lock_met_on_the_last_receive_gives_the_task_back(stack: Stack, proxy: FaultProxy) -> None:
    """The same message, delivered again while its first attempt still runs (its visibility
    ran out), on the last allowed receive: the second attempt must not fail the task."""
    runs: Counter[int] = Counter()
    holder, duplicate = faulty_app(stack, proxy, runs), faulty_app(stack, proxy, runs)
    inside, release = threading.Event(), threading.Event()

    def slow(item: Job) -> Ran:
        inside.set()
        release.wait(20)
        runs[item.n] += 1
        return Ran(n=item.n)

    holder.task("slow")(slow)
    duplicate.task("slow")(slow)
    task_id = stack.send("slow", {"n": 0})
    deliveries = []
    for _ in range(stack.max_receives):
        [message] = stack.receive()
        deliveries.append(message)
        stack.sqs.change_message_visibility(
            QueueUrl=stack.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    first, last = deliveries[0], deliveries[-1]
    assert last["Attributes"]["ApproximateReceiveCount"] == str(stack.max_receives)
    running = threading.Thread(target=stack.invoke, args=(holder, [first]))
    running.start()
    try:
        assert inside.wait(20)
        response = stack.invoke(duplicate, [last])
    finally:
        release.set()
        running.join(20)

    assert response == {"batchItemFailures": [{"itemIdentifier": task_id}]}  # given back
    assert runs == Counter({0: 1})
    status = holder.get_status(task_id)
    assert status is not None
    assert status.status == "succeeded"
    assert [e["status"] for e in stack.events()] == ["succeeded"]  # no failed event


def test_an_outage_that_loses_every_answer_of_the_idempotency_table_condemns_no_task(
    stack: Stack, proxy: FaultProxy
) -> None:
    """Like a 20 s outage: every write lands, no answer comes back, until the outage ends."""
    runs: Counter[int] = Counter()
    app = faulty_app(stack, proxy, runs)
    proxy.inject("dynamodb", "*", "drop", body_contains=stack.idempotency_table)
    tasks = send_jobs(stack)

    first = stack.deliver(app, expect=TASKS)  # during the outage: nothing runs unguarded
    assert len(first["batchItemFailures"]) == TASKS
    assert runs == Counter()
    assert proxy.injected[("dynamodb", "PutItem", "drop")] >= TASKS  # every lock write landed
    proxy.clear()  # the outage ends
    second = stack.deliver(app, expect=TASKS)  # every task runs, once

    assert second == {"batchItemFailures": []}
    assert runs == Counter(dict.fromkeys(range(TASKS), 1))
    assert_all_succeeded_once(stack, app, tasks, runs)

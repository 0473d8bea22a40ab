"""Idempotency through the test kit's in-memory persistence layer: no AWS, same semantics."""

from __future__ import annotations

import time

import pytest
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from pydantic import BaseModel

from taskworker import Deadline, Failed, Retry, RetryLater, Succeeded, TaskApp
from taskworker.testing import InMemoryPersistenceLayer, TaskTester


class Order(BaseModel):
    n: int


class Receipt(BaseModel):
    doubled: int


@pytest.fixture
def runs() -> list[int]:
    return []


@pytest.fixture
def app(runs: list[int]) -> TaskApp:
    app = TaskApp("offline")

    @app.task("order.charge", retry=Retry(attempts=3, backoff=0))
    def charge(order: Order) -> Receipt:
        runs.append(order.n)
        if order.n < 0:
            raise ConnectionError("flaky")
        return Receipt(doubled=order.n * 2)

    @app.task("order.log", idempotent=False)
    def log(order: Order) -> None:
        runs.append(order.n)

    @app.task("order.bad")
    def bad(order: Order) -> Receipt:
        runs.append(order.n)
        return {"wrong": 1}  # type: ignore[return-value]

    return app


@pytest.fixture
def layer() -> InMemoryPersistenceLayer:
    return InMemoryPersistenceLayer()


@pytest.fixture
def tester(app: TaskApp, layer: InMemoryPersistenceLayer) -> TaskTester:
    return TaskTester(app, idempotency=layer)


def test_same_key_runs_once_and_returns_the_stored_result(tester: TaskTester, runs: list[int]) -> None:
    first = tester.run("order.charge", {"n": 2}, idempotency_key="k").outcome
    second = tester.run("order.charge", {"n": 2}, idempotency_key="k").outcome

    assert first == Succeeded(Receipt(doubled=4))
    assert second == Succeeded(Receipt(doubled=4), duplicate=True)
    assert runs == [2]


def test_same_message_id_is_a_duplicate(tester: TaskTester, runs: list[int]) -> None:
    tester.run("order.charge", {"n": 1}, message_id="m-1")
    again = tester.run("order.charge", {"n": 1}, message_id="m-1", attempt=2).outcome

    assert isinstance(again, Succeeded)
    assert again.duplicate
    assert runs == [1]


def test_keys_are_per_task_type_and_per_key(tester: TaskTester, runs: list[int]) -> None:
    tester.run("order.charge", {"n": 1}, idempotency_key="a")
    tester.run("order.charge", {"n": 1}, idempotency_key="b")
    tester.run("order.charge", {"n": 1}, message_id="a")  # a message id is not a client key

    assert runs == [1, 1, 1]


def test_opting_out_runs_every_time(
    tester: TaskTester, runs: list[int], layer: InMemoryPersistenceLayer
) -> None:
    tester.run("order.log", {"n": 5}, idempotency_key="k")
    tester.run("order.log", {"n": 5}, idempotency_key="k")

    assert runs == [5, 5]
    assert layer.calls == []


def test_failure_releases_the_key_so_the_retry_runs(
    tester: TaskTester, runs: list[int], layer: InMemoryPersistenceLayer
) -> None:
    outcome = tester.run("order.charge", {"n": -1}, idempotency_key="k").outcome

    assert isinstance(outcome, RetryLater)
    assert runs == [-1, -1, -1]  # in-process retries ran inside one idempotency lock
    assert layer.calls == ["put", "delete"]
    assert layer.records == {}


def test_invalid_result_is_reported_and_not_stored(
    tester: TaskTester, layer: InMemoryPersistenceLayer
) -> None:
    outcome = tester.run("order.bad", {"n": 1}, idempotency_key="k").outcome

    assert isinstance(outcome, Failed)
    assert outcome.error.type == "InvalidResult"
    assert layer.records == {}


def test_a_key_in_progress_elsewhere_is_retried_not_run(
    tester: TaskTester, runs: list[int], layer: InMemoryPersistenceLayer
) -> None:
    tester.run("order.charge", {"n": 3}, idempotency_key="k")
    [key] = layer.records
    now = time.time()
    layer.records[key] = DataRecord(
        key,
        status="INPROGRESS",
        expiry_timestamp=int(now) + 60,
        in_progress_expiry_timestamp=int(now * 1000) + 60_000,
    )

    outcome = tester.run("order.charge", {"n": 3}, idempotency_key="k").outcome

    assert isinstance(outcome, RetryLater)
    assert outcome.error.type == "DuplicateInProgressError"
    assert runs == [3]


def test_a_crashed_attempts_lock_expires_with_its_deadline(
    tester: TaskTester, runs: list[int], layer: InMemoryPersistenceLayer
) -> None:
    outcome = tester.run("order.charge", {"n": 3}, idempotency_key="k", deadline=Deadline.after(30)).outcome
    [record] = layer.records.values()
    assert isinstance(outcome, Succeeded)
    [key] = layer.records
    # what a put of an attempt that died would leave: a lock until its invocation ended
    layer.records[key] = DataRecord(
        key,
        status="INPROGRESS",
        expiry_timestamp=record.expiry_timestamp,
        in_progress_expiry_timestamp=int(time.time() * 1000) - 1,
    )

    again = tester.run("order.charge", {"n": 3}, idempotency_key="k").outcome

    assert again == Succeeded(Receipt(doubled=6))
    assert runs == [3, 3]


def test_in_progress_lock_follows_the_runtime_deadline(app: TaskApp, layer: InMemoryPersistenceLayer) -> None:
    seen: list[int | None] = []

    @app.task("order.peek")
    def peek(order: Order) -> None:
        [record] = [r for r in layer.records.values() if r.status == "INPROGRESS"]
        seen.append(record.in_progress_expiry_timestamp)

    before = time.time() * 1000
    TaskTester(app, idempotency=layer).run("order.peek", {"n": 1}, deadline=Deadline.after(30))

    [lock] = seen
    assert lock is not None
    assert before + 29_000 <= lock <= time.time() * 1000 + 30_000

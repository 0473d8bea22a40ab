"""Idempotency through the test kit's in-memory store: no AWS, the DynamoDB store's rules.

The tenancy and key-reuse rules run against both stores: the in-memory one and the
DynamoDB one on moto's server, so the conditional write is the one tested.
"""

from __future__ import annotations

import dataclasses
import time
import uuid

import boto3
import pytest
from pydantic import BaseModel

from taskworker import Deadline, Failed, Retry, RetryLater, Succeeded, TaskApp
from taskworker.messages import CALLER, IDEMPOTENCY_KEY, TASK_TYPE, TaskMessage
from taskworker.middleware.idempotency import (
    IN_PROGRESS,
    DynamoDBIdempotencyStore,
    IdempotencyRecord,
    IdempotencyStore,
    payload_hash,
    record_key,
)
from taskworker.outcomes import Outcome
from taskworker.testing import InMemoryPersistenceLayer, TaskTester
from tests.moto_env import REGION
from tests.worker.test_worker_moto import idempotency_table


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
    assert layer.calls == ["acquire", "release"]
    assert layer.records == {}


def test_invalid_result_is_reported_and_not_stored(
    tester: TaskTester, layer: InMemoryPersistenceLayer
) -> None:
    outcome = tester.run("order.bad", {"n": 1}, idempotency_key="k").outcome

    assert isinstance(outcome, Failed)
    assert outcome.error.type == "InvalidResult"
    assert layer.records == {}


def hold_elsewhere(tester: TaskTester, layer: InMemoryPersistenceLayer) -> None:
    """Run key ``k`` once, then make its record a live lock of another attempt."""
    tester.run("order.charge", {"n": 3}, idempotency_key="k")
    [key] = layer.records
    now = time.time()
    layer.records[key] = IdempotencyRecord(key, IN_PROGRESS, int(now) + 60, int(now * 1000) + 60_000, "other")


def test_a_key_in_progress_elsewhere_is_retried_not_run(
    tester: TaskTester, runs: list[int], layer: InMemoryPersistenceLayer
) -> None:
    hold_elsewhere(tester, layer)

    outcome = tester.run("order.charge", {"n": 3}, idempotency_key="k").outcome

    assert isinstance(outcome, RetryLater)
    assert outcome.error.type == "DuplicateInProgressError"
    assert runs == [3]


def test_a_crashed_attempts_lock_expires_with_its_deadline(
    tester: TaskTester, runs: list[int], layer: InMemoryPersistenceLayer
) -> None:
    outcome = tester.run("order.charge", {"n": 3}, idempotency_key="k", deadline=Deadline.after(30)).outcome
    [(key, record)] = layer.records.items()
    assert isinstance(outcome, Succeeded)
    # what a put of an attempt that died would leave: a lock until its invocation ended
    layer.records[key] = dataclasses.replace(
        record, status=IN_PROGRESS, locked_until_ms=int(time.time() * 1000) - 1, owner="dead", data=None
    )

    again = tester.run("order.charge", {"n": 3}, idempotency_key="k").outcome

    assert again == Succeeded(Receipt(doubled=6))
    assert runs == [3, 3]


def test_in_progress_lock_follows_the_runtime_deadline(app: TaskApp, layer: InMemoryPersistenceLayer) -> None:
    seen: list[int | None] = []

    @app.task("order.peek")
    def peek(order: Order) -> None:
        [record] = [r for r in layer.records.values() if r.status == IN_PROGRESS]
        seen.append(record.locked_until_ms)

    before = time.time() * 1000
    TaskTester(app, idempotency=layer).run("order.peek", {"n": 1}, deadline=Deadline.after(30))

    [lock] = seen
    assert lock is not None
    assert before + 29_000 <= lock <= time.time() * 1000 + 30_000


class _UnwritableResults(InMemoryPersistenceLayer):
    """A store whose result writes fail, as when DynamoDB's UpdateItem answers 500."""

    def complete(self, record: IdempotencyRecord) -> None:
        self.calls.append("complete")
        raise ConnectionError("the result write failed")


def test_a_success_whose_result_cannot_be_stored_is_still_a_success(app: TaskApp, runs: list[int]) -> None:
    layer = _UnwritableResults()

    outcome = TaskTester(app, idempotency=layer).run("order.charge", {"n": 4}, idempotency_key="k").outcome

    assert outcome == Succeeded(Receipt(doubled=8))
    assert runs == [4]
    assert layer.calls == ["acquire", "complete"]


def test_a_lock_held_elsewhere_on_the_last_receive_is_given_back_not_failed(
    tester: TaskTester, runs: list[int], layer: InMemoryPersistenceLayer
) -> None:
    hold_elsewhere(tester, layer)

    outcome = tester.run("order.charge", {"n": 3}, idempotency_key="k", attempt=5, max_receives=5).outcome

    assert isinstance(outcome, RetryLater)
    assert outcome.error.type == "DuplicateInProgressError"
    assert runs == [3]


def test_other_failures_on_the_last_receive_are_still_reported(tester: TaskTester) -> None:
    outcome = tester.run("order.charge", {"n": -1}, idempotency_key="k", attempt=5, max_receives=5).outcome

    assert isinstance(outcome, Failed)
    assert not outcome.permanent


def test_an_attempt_whose_lock_was_taken_over_does_not_release_the_new_holders_lock(app: TaskApp) -> None:
    layer = InMemoryPersistenceLayer()

    @app.task("order.overtaken")
    def overtaken(order: Order) -> None:
        # meanwhile this attempt's lock ran out and another attempt took the key
        [key] = layer.records
        layer.records[key] = dataclasses.replace(layer.records[key], owner="new-holder")
        raise ConnectionError("this attempt fails")

    outcome = TaskTester(app, idempotency=layer).run("order.overtaken", {"n": 1}, idempotency_key="k").outcome

    assert isinstance(outcome, RetryLater)
    [record] = layer.records.values()
    assert (record.status, record.owner) == (IN_PROGRESS, "new-holder")


def test_keys_are_the_ones_powertools_computes_so_old_records_are_found() -> None:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

    from taskworker.messages import TaskMessage

    class Layer(BasePersistenceLayer):
        _get_record = _put_record = _update_record = _delete_record = None  # type: ignore[assignment]

    layer = Layer()  # type: ignore[no-untyped-call]
    layer.configure(IdempotencyConfig(), function_name="ignored", key_prefix="taskworker")
    by_key = TaskMessage("m-1", "{}", {"idempotency_key": "order-7"})
    by_id = TaskMessage("m-1", "{}")

    by_caller = TaskMessage("m-1", "{}", {"idempotency_key": "order-7", "caller": "tenant-a"})

    expected_by_key = layer._get_hashed_idempotency_key({"task_type": "t", "idempotency_key": "order-7"})
    expected_by_id = layer._get_hashed_idempotency_key({"task_type": "t", "message_id": "m-1"})
    expected_by_caller = layer._get_hashed_idempotency_key(
        {"task_type": "t", "caller": "tenant-a", "idempotency_key": "order-7"}
    )
    assert record_key("t", by_key) == expected_by_key  # messages without a caller: keys unchanged
    assert record_key("t", by_id) == expected_by_id
    assert record_key("t", by_caller) == expected_by_caller != expected_by_key


def test_an_attempt_that_meets_its_own_lock_goes_on() -> None:
    layer, now = InMemoryPersistenceLayer(), time.time()
    mine = IdempotencyRecord("k", IN_PROGRESS, int(now) + 60, int(now * 1000) + 60_000, "me")

    assert layer.acquire(mine, now) is None
    assert layer.acquire(mine, now) is None  # a retried write of the same attempt
    assert layer.acquire(dataclasses.replace(mine, owner="other"), now) == mine


# ---------------------------------------------------------------------- tenancy and key reuse


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> IdempotencyStore:
    if request.param == "memory":
        return InMemoryPersistenceLayer()
    endpoint = request.getfixturevalue("moto_endpoint")
    table = idempotency_table(endpoint, f"idempotency-{uuid.uuid4().hex[:10]}")
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION)
    return DynamoDBIdempotencyStore(table, client)


def run_as(tester: TaskTester, caller: str | None, body: str, *, key: str = "2024-05-acme") -> Outcome:
    """One message of ``order.charge`` as the deployed API enqueues it for ``caller``."""
    return tester.run("order.charge", body=body, idempotency_key=key, caller=caller).outcome


def test_one_caller_never_gets_another_callers_result_for_the_same_key(
    app: TaskApp, store: IdempotencyStore, runs: list[int]
) -> None:
    tester = TaskTester(app, idempotency=store)

    alice = run_as(tester, "tenant-a", '{"n": 1}')
    mallory = run_as(tester, "tenant-b", '{"n": 5}')  # guessed alice's key
    alice_again = run_as(tester, "tenant-a", '{"n": 1}')

    assert alice == Succeeded(Receipt(doubled=2))
    assert mallory == Succeeded(Receipt(doubled=10))
    assert alice_again == Succeeded(Receipt(doubled=2), duplicate=True)
    assert runs == [1, 5]


def test_a_key_reused_with_another_body_is_refused_for_good(
    app: TaskApp, store: IdempotencyStore, runs: list[int]
) -> None:
    tester = TaskTester(app, idempotency=store)
    run_as(tester, "tenant-a", '{"n": 1}')

    reused = run_as(tester, "tenant-a", '{"n": 2}')
    same_request = run_as(tester, "tenant-a", '{ "n" : 1 }')  # spacing is not another request

    assert isinstance(reused, Failed)
    assert (reused.permanent, reused.error.type) == (True, "IdempotencyKeyReused")
    assert same_request == Succeeded(Receipt(doubled=2), duplicate=True)
    assert runs == [1]


def test_a_key_reused_without_a_caller_is_refused_too(
    app: TaskApp, store: IdempotencyStore, runs: list[int]
) -> None:
    tester = TaskTester(app, idempotency=store)
    run_as(tester, None, '{"n": 1}')

    reused = run_as(tester, None, '{"n": 2}')

    assert isinstance(reused, Failed)
    assert reused.error.type == "IdempotencyKeyReused"
    assert runs == [1]


def test_a_run_out_lock_of_another_body_is_kept_for_its_own_redelivery(
    app: TaskApp, store: IdempotencyStore, runs: list[int]
) -> None:
    """A reuser meeting a dead attempt's lock is refused; the dead task's retry still runs."""
    attributes = {TASK_TYPE: "order.charge", IDEMPOTENCY_KEY: "2024-05-acme", CALLER: "tenant-a"}
    dead = TaskMessage("m-dead", '{"n": 1}', attributes)
    now = time.time()
    store.acquire(
        IdempotencyRecord(
            record_key("order.charge", dead),
            IN_PROGRESS,
            int(now) + 3600,
            locked_until_ms=int(now * 1000) - 1000,  # its attempt was killed: the lock ran out
            owner="dead",
            payload_hash=payload_hash(dead),
        ),
        now,
    )
    tester = TaskTester(app, idempotency=store)

    reused = run_as(tester, "tenant-a", '{"n": 2}')
    redelivered = run_as(tester, "tenant-a", '{"n": 1}')

    assert isinstance(reused, Failed)
    assert reused.error.type == "IdempotencyKeyReused"
    assert redelivered == Succeeded(Receipt(doubled=2))
    assert runs == [1]

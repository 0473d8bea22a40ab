"""The worker's heartbeat carries idempotency locks with its leases (FakeSQS, manual clocks)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from pydantic import BaseModel

from taskworker import Deadline, Succeeded, TaskApp
from taskworker.handlers.heartbeat import Heartbeat, Leases
from taskworker.messages import TaskMessage, send_attributes
from taskworker.middleware.idempotency import IN_PROGRESS, Idempotency
from taskworker.testing import FakeSQS, InMemoryPersistenceLayer, ManualClock

VISIBILITY = 4
LOGGER = logging.getLogger("test.renewal")


class Job(BaseModel):
    n: int


class Recorder:
    """A lock renewal that only records what the heartbeat tells it."""

    renew_every = 10.0

    def __init__(self) -> None:
        self.heard: list[list[tuple[str, float]]] = []
        self.leases: Leases | None = None

    def attach(self, leases: Leases) -> None:
        self.leases = leases

    def renew(self, held: Sequence[tuple[TaskMessage, float]]) -> None:
        self.heard.append([(message.task_id, seconds) for message, seconds in held])


def held_message(sqs: FakeSQS, leases: Leases, task_type: str = "job") -> TaskMessage:
    url = sqs.create_queue(QueueName="renewal")["QueueUrl"]
    attributes = {k: {"DataType": "String", "StringValue": v} for k, v in send_attributes(task_type).items()}
    sqs.send_message(QueueUrl=url, MessageBody='{"n": 1}', MessageAttributes=attributes)
    [raw] = sqs.receive_message(
        QueueUrl=url,
        VisibilityTimeout=VISIBILITY,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
    )["Messages"]
    message = TaskMessage.from_sqs_message(raw)
    leases.add([message], leases.clock(), VISIBILITY, limit=600)
    return message


def heartbeat(sqs: FakeSQS, leases: Leases, renewal: object) -> Heartbeat:
    url = sqs.get_queue_url(QueueName="renewal")["QueueUrl"]
    return Heartbeat(sqs, url, leases, visibility_timeout=VISIBILITY, logger=LOGGER, renewals=[renewal])  # type: ignore[list-item]


def test_renewals_hear_of_started_leases_each_time_their_visibility_moves() -> None:
    clock = ManualClock()
    sqs, leases, renewal = FakeSQS(clock=clock), Leases(clock=clock), Recorder()
    message = held_message(sqs, leases)
    beat = heartbeat(sqs, leases, renewal)
    assert renewal.leases is leases
    assert beat.interval <= renewal.renew_every

    assert beat.renew_locks() == 0  # not started: it holds no lock yet
    leases.start(message, budget=600)
    clock.advance(3)
    assert beat.beat() == 1
    assert beat.renew_locks() == 1
    assert beat.renew_locks() == 0  # nothing moved since
    assert renewal.heard == [[(message.task_id, VISIBILITY)]]


def test_a_lease_that_could_not_be_extended_does_not_renew_its_lock() -> None:
    clock = ManualClock()
    sqs, leases, renewal = FakeSQS(clock=clock), Leases(clock=clock), Recorder()
    message = held_message(sqs, leases)
    beat = heartbeat(sqs, leases, renewal)
    leases.start(message, budget=600)
    assert leases.lock_seconds(message) == VISIBILITY  # the attempt locks for the visibility

    clock.advance(3)
    sqs.fail_next("ChangeMessageVisibilityBatch", count=2)
    assert beat.beat() == 0
    assert beat.renew_locks() == 0  # its message comes back when the old visibility ends
    assert renewal.heard == []


def test_an_idempotency_lock_lasts_as_long_as_the_message_stays_invisible() -> None:
    clock = ManualClock()
    sqs, leases, store = FakeSQS(clock=clock), Leases(clock=clock), InMemoryPersistenceLayer()
    idempotency = Idempotency(store, clock=clock)
    app = TaskApp("renewal", middleware=[idempotency])
    locks: list[int | None] = []

    @app.task("job")
    def job(item: Job) -> None:
        [record] = store.records.values()
        locks.append(record.locked_until_ms)

    message = held_message(sqs, leases)
    beat = heartbeat(sqs, leases, idempotency)
    leases.start(message, budget=600)
    clock.advance(1)
    outcome = app.dispatcher.dispatch(message, Deadline.after(600)).outcome

    assert isinstance(outcome, Succeeded)
    assert locks == [int((clock() + VISIBILITY - 1) * 1000)]  # not the 600 s budget

    # a long task: its lock follows each visibility extension
    store.records.clear()
    locked: list[float] = []

    @app.task("long")
    def long(item: Job) -> None:
        clock.advance(2)
        beat.beat()
        beat.renew_locks()
        [record] = store.records.values()
        assert record.status == IN_PROGRESS
        locked.append((record.locked_until_ms or 0) / 1000 - clock())

    long_message = held_message(sqs, leases, "long")
    leases.start(long_message, budget=600)
    assert isinstance(app.dispatcher.dispatch(long_message, Deadline.after(600)).outcome, Succeeded)
    assert locked == [VISIBILITY]

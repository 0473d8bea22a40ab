"""Later: ``delay``/``at`` on both sides of 15 minutes, offline with a controlled clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from taskworker import TaskApp
from taskworker.client import TaskClient
from taskworker.later import ScheduleError, queue_arn, timing
from taskworker.messages import TaskMessage, envelope
from taskworker.settings import Settings
from taskworker.testing import FakeSQS, ManualClock, receive_lambda_event
from taskworker.testing.fake_scheduler import FakeScheduler

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ROLE = "arn:aws:iam::123456789012:role/scheduler"


class Report(BaseModel):
    account_id: str


def make(**settings: Any) -> tuple[TaskApp, TaskClient, FakeSQS, FakeScheduler, ManualClock, list[str]]:
    app = TaskApp("later")
    ran: list[str] = []

    @app.task("report.generate")
    def generate(req: Report) -> None:
        ran.append(req.account_id)

    clock = ManualClock(NOW.timestamp())
    sqs, scheduler = FakeSQS(clock=clock), FakeScheduler()
    url = sqs.create_queue(QueueName="later-tasks")["QueueUrl"]
    config = Settings(queue_url=url, scheduler_role_arn=ROLE, schedule_group="later", **settings)
    client = TaskClient(app=app, settings=config, sqs=sqs, scheduler=scheduler, clock=clock)
    return app, client, sqs, scheduler, clock, ran


def receive(sqs: FakeSQS, url: str, *, delete: bool = True) -> list[dict[str, Any]]:
    answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    messages = list(answer.get("Messages", []))
    for message in messages if delete else ():
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return messages


def test_up_to_15_minutes_is_an_sqs_delay() -> None:
    _, client, sqs, scheduler, clock, _ = make()
    url = client.queue_url or ""
    handle = client.submit("report.generate", {"account_id": "a"}, delay=timedelta(minutes=15))
    client.submit("report.generate", {"account_id": "b"}, at=NOW + timedelta(seconds=90.2))
    assert scheduler.schedules == {}
    clock.advance(90)
    assert receive(sqs, url) == []
    clock.advance(1)
    assert [json.loads(m["Body"]) for m in receive(sqs, url)] == [{"account_id": "b"}]
    clock.advance(15 * 60 - 91)
    [message] = receive(sqs, url)
    assert message["MessageId"] == handle.task_id


def test_beyond_15_minutes_is_a_one_time_schedule_with_an_envelope() -> None:
    _, client, sqs, scheduler, _, _ = make()
    handle = client.submit("report.generate", {"account_id": "a"}, delay=timedelta(minutes=15, seconds=1))
    [(group, name)] = scheduler.schedules
    request = scheduler.schedules[(group, name)]
    assert (group, name) == ("later", f"tw-{handle.task_id}")
    assert request["ScheduleExpression"] == "at(2026-12-01T12:15:01)"
    assert request["ScheduleExpressionTimezone"] == "UTC"
    assert request["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert request["ActionAfterCompletion"] == "DELETE"
    target = request["Target"]
    assert target["Arn"] == sqs.queue_arn(client.queue_url or "")
    assert target["RoleArn"] == ROLE
    assert "SqsParameters" not in target
    assert json.loads(target["Input"]) == {
        "taskworker_envelope": 1,
        "task_type": "report.generate",
        "task_id": handle.task_id,
        "payload": {"account_id": "a"},
    }
    assert receive(sqs, client.queue_url or "") == []


def test_at_a_time_far_ahead_and_the_consumer_runs_what_fires() -> None:
    app, client, sqs, scheduler, _, ran = make()
    handle = client.submit(
        "report.generate",
        {"account_id": "z"},
        at=datetime(2026, 12, 2, 7, 0, tzinfo=UTC) + timedelta(hours=-1),
    )
    [request] = scheduler.schedules.values()
    assert request["ScheduleExpression"] == "at(2026-12-02T06:00:00)"
    assert scheduler.fire_due(sqs, NOW + timedelta(hours=17)) == 0
    assert scheduler.fire_due(sqs, datetime(2026, 12, 2, 6, 0, tzinfo=UTC)) == 1
    assert scheduler.schedules == {}
    [message] = receive(sqs, client.queue_url or "", delete=False)
    assert message.get("MessageAttributes") is None
    read = TaskMessage.from_sqs_message(message)
    assert (read.task_type, read.task_id, read.body) == (
        "report.generate",
        handle.task_id,
        '{"account_id":"z"}',
    )
    sqs.change_message_visibility(
        QueueUrl=client.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    assert app.testing.lambda_handler(receive_lambda_event(sqs, client.queue_url or "")) == {
        "batchItemFailures": []
    }
    assert ran == ["z"]


def test_a_fifo_queue_gets_the_message_group() -> None:
    app, client, sqs, scheduler, clock, _ = make()
    url = sqs.create_queue(QueueName="later.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    fifo = TaskClient(url, app=app, settings=client.settings, sqs=sqs, scheduler=scheduler, clock=clock)
    fifo.submit("report.generate", {"account_id": "a"}, delay=timedelta(hours=1), group_id="acct-a")
    [request] = scheduler.schedules.values()
    assert request["Target"]["SqsParameters"] == {"MessageGroupId": "acct-a"}


@pytest.mark.parametrize(
    ("when", "error"),
    [
        ({"delay": timedelta(minutes=1), "delay_seconds": 5}, "give one of"),
        ({"at": datetime(2026, 12, 2, 6, 0)}, "timezone-aware"),
        ({"at": NOW - timedelta(hours=1)}, "in the past"),
        ({"delay": timedelta(seconds=-5)}, "into the past"),
    ],
)
def test_bad_times_are_refused_and_nothing_is_sent(when: dict[str, Any], error: str) -> None:
    _, client, sqs, scheduler, _, _ = make()
    with pytest.raises(ScheduleError, match=error):
        client.submit("report.generate", {"account_id": "a"}, **when)
    assert scheduler.schedules == {}
    assert sqs.calls["SendMessageBatch"] == 0


def test_without_scheduler_settings_a_long_delay_is_a_clear_error() -> None:
    _, client, sqs, scheduler, _, _ = make()
    plain = TaskClient(
        app=client.app, settings=Settings(queue_url=client.queue_url), sqs=sqs, scheduler=scheduler
    )
    with pytest.raises(ScheduleError, match="TASKWORKER_SCHEDULER_ROLE_ARN"):
        plain.submit("report.generate", {"account_id": "a"}, delay=timedelta(days=1))
    assert scheduler.schedules == {}


def test_an_invalid_payload_is_refused_before_scheduling() -> None:
    from taskworker.client import PayloadError

    _, client, _, scheduler, _, _ = make()
    with pytest.raises(PayloadError, match="account_id"):
        client.submit("report.generate", {"acount": "a"}, delay=timedelta(days=1))
    assert scheduler.schedules == {}


def test_timing_rounds_short_delays_up_and_long_times_down() -> None:
    now = NOW.timestamp()
    assert timing(now, delay=timedelta(seconds=0.2)).delay_seconds == 1
    assert timing(now, delay=timedelta(0)).delay_seconds is None
    assert timing(now, at=NOW - timedelta(seconds=30)).delay_seconds is None
    assert timing(now, delay=timedelta(seconds=900)).delay_seconds == 900
    assert timing(now, delay=timedelta(seconds=900.5)).fire_at == NOW + timedelta(seconds=900)


def test_envelopes_are_opened_only_when_they_are_envelopes() -> None:
    body = envelope('{"a":1}', {"task_type": "t", "task_id": "id-1", "parent_task_id": "p"})
    opened = TaskMessage(task_id="mid", body=body)
    assert (opened.task_type, opened.task_id, opened.parent_task_id, opened.body) == (
        "t",
        "id-1",
        "p",
        '{"a":1}',
    )
    routed = TaskMessage(task_id="mid", body=body, attributes={"task_type": "x"})
    assert (routed.task_type, routed.body) == ("x", body)
    for broken in ('{"taskworker_envelope": 1, "task_type": "t"}', '{"taskworker_envelope": 1, oops'):
        kept = TaskMessage(task_id="mid", body=broken)
        assert (kept.task_type, kept.body) == (None, broken)
    with pytest.raises(ValueError, match="caller"):
        envelope("{}", {"task_type": "t", "caller": "someone"})


def test_queue_arn_from_an_aws_url_needs_no_call() -> None:
    class NoCalls:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(name)

    assert queue_arn("https://sqs.eu-west-1.amazonaws.com/111122223333/q.fifo", NoCalls()) == (
        "arn:aws:sqs:eu-west-1:111122223333:q.fifo"
    )

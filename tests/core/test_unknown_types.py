"""An unknown task type during a rolling deploy: retried until the last allowed receive."""

from __future__ import annotations

from taskworker import Settings, TaskApp
from taskworker.messages import TaskMessage
from taskworker.outcomes import Failed, RetryLater
from taskworker.testing import sqs_record


def _message(receive_count: int) -> TaskMessage:
    record = sqs_record({"n": 1}, task_type="added.later", receive_count=receive_count)
    return TaskMessage.from_lambda_record(record)


def test_an_unknown_type_is_retried_with_backoff_before_its_last_receive() -> None:
    app = TaskApp("old", settings=Settings(backoff_base_seconds=4, backoff_max_seconds=4))
    outcome = app.dispatcher.dispatch(_message(receive_count=2), max_receives=5).outcome
    assert isinstance(outcome, RetryLater)
    assert outcome.error.type == "UnknownTaskType"
    assert outcome.delay is not None
    assert 2 <= outcome.delay <= 4


def test_an_unknown_type_is_dead_lettered_on_its_last_receive() -> None:
    app = TaskApp("old")
    outcome = app.dispatcher.dispatch(_message(receive_count=5), max_receives=5).outcome
    assert outcome == Failed(outcome.error, permanent=True)
    assert outcome.error.type == "UnknownTaskType"


def test_an_unknown_type_without_a_redrive_limit_is_dead_lettered_at_once() -> None:
    app = TaskApp("old")
    outcome = app.dispatcher.dispatch(_message(receive_count=1)).outcome
    assert isinstance(outcome, Failed)
    assert outcome.permanent

"""The dispatcher through the public testing API: every row of DESIGN.md's error table."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from pydantic import BaseModel, Field

from taskworker import (
    Deadline,
    Failed,
    Middleware,
    PermanentError,
    Retry,
    RetryableError,
    RetryLater,
    Succeeded,
    TaskApp,
    TaskCall,
    TaskContext,
    TaskResult,
)
from taskworker.outcomes import Outcome


class Order(BaseModel):
    order_id: str = Field(min_length=3)
    quantity: int = Field(ge=1)


class Receipt(BaseModel):
    order_id: str
    total: int


class OrderWithSecret(BaseModel):
    card_number: str = Field(pattern=r"^\d{16}$")


@pytest.fixture
def app() -> TaskApp:
    app = TaskApp("orders")
    calls: list[str] = []
    app.calls = calls  # type: ignore[attr-defined]

    @app.task("order.place", timeout=5)
    def place(order: Order, ctx: TaskContext) -> Receipt:
        calls.append(ctx.task_id)
        return Receipt(order_id=order.order_id, total=order.quantity * 3)

    @app.task("order.async")
    async def place_async(order: Order) -> Receipt:
        await asyncio.sleep(0)
        return Receipt(order_id=order.order_id, total=1)

    @app.task("order.reject")
    def reject(order: Order) -> None:
        raise PermanentError(f"order {order.order_id} was cancelled")

    @app.task("order.flaky")
    def flaky(order: Order) -> None:
        raise ConnectionError("downstream unavailable")

    @app.task("order.throttled")
    def throttled(order: Order) -> None:
        raise RetryableError("rate limited", delay=7)

    @app.task("order.bad_result")
    def bad_result(order: Order) -> Receipt:
        return "not a receipt"  # type: ignore[return-value]

    @app.task("order.dict_result")
    def dict_result(order: Order) -> Receipt:
        return {"order_id": order.order_id, "total": 2}  # type: ignore[return-value]

    @app.task("order.secret")
    def secret(order: OrderWithSecret) -> None: ...

    return app


VALID = {"order_id": "o-123", "quantity": 2}


def test_valid_message_is_routed_to_its_handler(app: TaskApp) -> None:
    assert app.testing.run("order.place", VALID).outcome == Succeeded(Receipt(order_id="o-123", total=6))


def test_async_handlers_run_and_reuse_one_event_loop(app: TaskApp) -> None:
    tester = app.testing
    first = tester.run("order.async", VALID).outcome
    second = tester.run("order.async", VALID).outcome
    assert first == second == Succeeded(Receipt(order_id="o-123", total=1))


def test_malformed_json_is_permanent(app: TaskApp) -> None:
    outcome = app.testing.run("order.place", body='{"order_id": ').outcome
    assert outcome == Failed(_error("MalformedJSON", "message body is not valid JSON"), permanent=True)


def test_missing_task_type_is_permanent(app: TaskApp) -> None:
    from taskworker.messages import TaskMessage
    from taskworker.testing import sqs_record

    message = TaskMessage.from_lambda_record(sqs_record(VALID))
    outcome = app.dispatcher.dispatch(message).outcome
    assert isinstance(outcome, Failed)
    assert outcome.permanent
    assert outcome.error.type == "MissingTaskType"


def test_unknown_task_type_is_permanent(app: TaskApp) -> None:
    outcome = app.testing.run("order.unknown", VALID).outcome
    assert isinstance(outcome, Failed)
    assert outcome.permanent
    assert outcome.error == _error("UnknownTaskType", "no task registered as 'order.unknown'")


def test_invalid_payload_is_permanent_and_names_the_fields(app: TaskApp) -> None:
    outcome = app.testing.run("order.place", {"order_id": "x", "quantity": 0}).outcome
    assert isinstance(outcome, Failed)
    assert outcome.permanent
    assert outcome.error.type == "InvalidPayload"
    assert "order_id: String should have at least 3 characters" in outcome.error.message
    assert "quantity: Input should be greater than or equal to 1" in outcome.error.message


def test_invalid_payload_error_does_not_echo_input_values(app: TaskApp) -> None:
    outcome = app.testing.run("order.secret", {"card_number": "4111-1111-1111-1111"}).outcome
    assert isinstance(outcome, Failed)
    assert "4111" not in outcome.error.message


def test_permanent_error_is_permanent_with_its_message(app: TaskApp) -> None:
    outcome = app.testing.run("order.reject", VALID).outcome
    assert outcome == Failed(_error("PermanentError", "order o-123 was cancelled"), permanent=True)


def test_other_exceptions_are_retried_with_backoff_growing_with_attempts(app: TaskApp) -> None:
    delays = []
    for attempt in (1, 2, 3, 4):
        outcome = app.testing.run("order.flaky", VALID, attempt=attempt).outcome
        assert isinstance(outcome, RetryLater)
        assert outcome.error == _error("ConnectionError", "downstream unavailable")
        assert outcome.delay is not None
        delays.append(outcome.delay)
    base = app.settings.backoff_base_seconds
    for attempt, delay in enumerate(delays, start=1):
        step = base * 2 ** (attempt - 1)
        assert step / 2 <= delay <= step


def test_backoff_is_capped(app: TaskApp) -> None:
    outcome = app.testing.run("order.flaky", VALID, attempt=40).outcome
    assert isinstance(outcome, RetryLater)
    assert outcome.delay is not None
    assert outcome.delay <= app.settings.backoff_max_seconds


def test_retryable_error_delay_is_honoured(app: TaskApp) -> None:
    assert app.testing.run("order.throttled", VALID).outcome == RetryLater(
        _error("RetryableError", "rate limited"), 7
    )


def test_last_allowed_receive_fails_for_good_but_not_permanently(app: TaskApp) -> None:
    outcome = app.testing.run("order.flaky", VALID, attempt=5, max_receives=5).outcome
    assert outcome == Failed(_error("ConnectionError", "downstream unavailable"), permanent=False)
    assert isinstance(app.testing.run("order.flaky", VALID, attempt=4, max_receives=5).outcome, RetryLater)


def test_permanent_error_on_last_receive_stays_permanent(app: TaskApp) -> None:
    outcome = app.testing.run("order.reject", VALID, attempt=5, max_receives=5).outcome
    assert isinstance(outcome, Failed)
    assert outcome.permanent


def test_a_result_of_the_wrong_type_is_permanent(app: TaskApp) -> None:
    outcome = app.testing.run("order.bad_result", VALID).outcome
    assert isinstance(outcome, Failed)
    assert outcome.permanent
    assert outcome.error.type == "InvalidResult"
    assert "handler returned str, not Receipt" in outcome.error.message


def test_a_result_that_validates_into_the_output_model_is_accepted(app: TaskApp) -> None:
    assert app.testing.run("order.dict_result", VALID).outcome == Succeeded(
        Receipt(order_id="o-123", total=2)
    )


def test_task_is_not_started_when_deadline_is_too_close(app: TaskApp) -> None:
    margin = app.settings.deadline_margin_seconds
    outcome = app.testing.run("order.place", VALID, deadline=Deadline(lambda: 5 + margin - 0.01)).outcome
    assert isinstance(outcome, RetryLater)
    assert outcome.delay == 0
    assert outcome.error.type == "DeadlineTooClose"
    assert app.calls == []  # type: ignore[attr-defined]
    assert isinstance(
        app.testing.run("order.place", VALID, deadline=Deadline(lambda: 5 + margin)).outcome, Succeeded
    )


def test_a_task_never_started_for_lack_of_time_fails_on_its_last_receive(app: TaskApp) -> None:
    """Otherwise a timeout that never fits the function's reaches the DLQ with no trace."""
    too_close = Deadline(lambda: 1.0)
    outcome = app.testing.run("order.place", VALID, deadline=too_close, attempt=5, max_receives=5).outcome
    assert isinstance(outcome, Failed)
    assert not outcome.permanent
    assert outcome.error.type == "DeadlineTooClose"
    assert app.calls == []  # type: ignore[attr-defined]


def test_context_carries_identity_attempt_and_deadline() -> None:
    app = TaskApp("ctx")
    seen: list[TaskContext] = []

    @app.task("ctx.capture")
    def capture(order: Order, ctx: TaskContext) -> None:
        seen.append(ctx)

    app.testing.run("ctx.capture", VALID, attempt=3, idempotency_key="k-1", deadline=Deadline(lambda: 42.0))
    ctx = seen[0]
    assert (ctx.task_type, ctx.attempt, ctx.idempotency_key) == ("ctx.capture", 3, "k-1")
    assert ctx.task_id
    assert ctx.remaining_seconds() == 42.0


def test_in_process_retries_recover_from_transient_errors() -> None:
    app = TaskApp("retry")
    attempts: list[int] = []

    @app.task("r.flaky", retry=Retry(attempts=3, backoff=0, max_backoff=0))
    def flaky(order: Order) -> Receipt:
        attempts.append(1)
        if len(attempts) < 3:
            raise TimeoutError("blip")
        return Receipt(order_id=order.order_id, total=len(attempts))

    assert app.testing.run("r.flaky", VALID).outcome == Succeeded(Receipt(order_id="o-123", total=3))


def test_in_process_retries_stop_at_attempts_and_then_requeue() -> None:
    app = TaskApp("retry")
    attempts: list[int] = []

    @app.task("r.down", retry=Retry(attempts=3, backoff=0, max_backoff=0, retry_on=(TimeoutError,)))
    def down(order: Order) -> None:
        attempts.append(1)
        raise TimeoutError("still down")

    assert isinstance(app.testing.run("r.down", VALID).outcome, RetryLater)
    assert len(attempts) == 3


def test_in_process_retries_skip_permanent_and_unlisted_errors() -> None:
    app = TaskApp("retry")
    attempts: list[str] = []

    @app.task("r.mixed", retry=Retry(attempts=5, backoff=0, max_backoff=0, retry_on=(TimeoutError,)))
    def mixed(order: Order) -> None:
        attempts.append(order.order_id)
        if order.order_id == "perm":
            raise PermanentError("no")
        raise KeyError("not listed")

    assert isinstance(app.testing.run("r.mixed", {"order_id": "perm", "quantity": 1}).outcome, Failed)
    assert isinstance(app.testing.run("r.mixed", {"order_id": "other", "quantity": 1}).outcome, RetryLater)
    assert attempts == ["perm", "other"]


def test_retry_policy_validates_its_arguments() -> None:
    with pytest.raises(ValueError, match="attempts must be at least 1"):
        Retry(attempts=0)


class Recorder(Middleware):
    """Records hook calls to check the order the dispatcher promises."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log

    def before_task(self, call: TaskCall) -> None:
        self.log.append(f"{self.name}.before")

    def wrap_handler(self, call: TaskCall, proceed: Any) -> Any:
        self.log.append(f"{self.name}.enter")
        try:
            return proceed()
        finally:
            self.log.append(f"{self.name}.exit")

    def after_task(self, call: TaskCall, outcome: Outcome) -> None:
        self.log.append(f"{self.name}.after:{type(outcome).__name__}")

    def after_batch(self, results: Sequence[TaskResult]) -> None:
        self.log.append(f"{self.name}.batch:{len(results)}")


def test_middleware_hooks_run_in_order_around_the_handler() -> None:
    log: list[str] = []
    app = TaskApp("mw", middleware=[Recorder("outer", log), Recorder("inner", log)])

    @app.task("mw.run")
    def run(order: Order) -> None:
        log.append("handler")

    results = [app.dispatcher.dispatch(_message("mw.run"))]
    app.finish_batch(results)
    assert log == [
        "outer.before",
        "inner.before",
        "outer.enter",
        "inner.enter",
        "handler",
        "inner.exit",
        "outer.exit",
        "outer.after:Succeeded",
        "inner.after:Succeeded",
        "outer.batch:1",
        "inner.batch:1",
    ]


def test_middleware_sees_failures_and_bad_messages_skip_task_hooks() -> None:
    log: list[str] = []
    app = TaskApp("mw", middleware=[Recorder("m", log)])

    @app.task("mw.fail")
    def fail(order: Order) -> None:
        raise PermanentError("x")

    app.dispatcher.dispatch(_message("mw.fail"))
    app.dispatcher.dispatch(_message("mw.fail", body="not json"))
    assert log == ["m.before", "m.enter", "m.exit", "m.after:Failed"]


def _message(task_type: str, body: str | None = None) -> Any:
    from taskworker.messages import TaskMessage
    from taskworker.testing import sqs_record

    return TaskMessage.from_lambda_record(sqs_record(VALID, task_type=task_type, body=body))


def _error(kind: str, message: str) -> Any:
    from taskworker.outcomes import ErrorInfo

    return ErrorInfo(kind, message)


@pytest.mark.parametrize("log_payloads", [False, True])
def test_payloads_reach_failure_logs_only_when_asked(
    log_payloads: bool, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from taskworker import Settings
    from taskworker.testing import TaskTester

    app = TaskApp("logs", logger=logging.getLogger("test.logs"))

    @app.task("order.reject")
    def reject(order: Order) -> None:
        raise PermanentError("cancelled")

    tester = TaskTester(app, settings=Settings(log_payloads=log_payloads))
    with caplog.at_level(logging.ERROR, logger="test.logs"):
        tester.run("order.reject", {"order_id": "secret-123", "quantity": 1})
    (record,) = caplog.records
    assert record.error_type == "PermanentError"  # type: ignore[attr-defined]
    assert ("secret-123" in getattr(record, "body", "")) is log_payloads


class Normalised(BaseModel):
    """An input model that overrides ``model_validate_json``: the dispatcher must call it."""

    name: str

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, **options: Any) -> Normalised:
        return super().model_validate_json(json_data, **options).model_copy(update={"name": "normalised"})


def test_an_input_models_own_model_validate_json_is_what_validates_the_body():
    app = TaskApp("override")
    seen: list[str] = []

    @app.task("override.seen")
    def record(item: Normalised) -> None:
        seen.append(item.name)

    assert app.testing.run("override.seen", {"name": "raw"}).succeeded
    assert seen == ["normalised"]


def test_a_bare_task_that_fails_is_classified_with_its_message_and_attempt():
    app = TaskApp("bare")

    @app.task("bare.fails", retry=Retry(attempts=1))
    def fails(order: Order) -> None:
        raise RetryableError("later", delay=7)

    later = app.testing.run("bare.fails", VALID, attempt=2, max_receives=5).outcome
    last = app.testing.run("bare.fails", VALID, attempt=5, max_receives=5).outcome
    assert later == RetryLater(later.error, delay=7)  # type: ignore[union-attr]
    assert isinstance(last, Failed)
    assert not last.permanent

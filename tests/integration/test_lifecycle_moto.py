"""The caller's side of a task against moto's server: submit, watch progress, wait for the
typed result. Resources are provisioned as ``taskworker dev`` provisions them."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from moto_stack import Stack
from pydantic import BaseModel

from taskworker import (
    PermanentError,
    TaskApp,
    TaskCancelledError,
    TaskContext,
    TaskFailedError,
    TaskNotFoundError,
    WaitTimeoutError,
)
from taskworker.cancellation import CANCEL_CHECK_INTERVAL
from taskworker.client import TaskClient
from taskworker.middleware.status import TaskStatusMiddleware


class Report(BaseModel):
    chunks: int


class ReportResult(BaseModel):
    rows: int


def report_app(stack: Stack, seen: list[dict[str, Any]]) -> TaskApp:
    app = stack.app()

    @app.task("report.generate")
    def generate(req: Report, ctx: TaskContext) -> ReportResult:
        if req.chunks < 0:
            raise PermanentError("chunks must not be negative")
        for index in range(req.chunks):
            ctx.report_progress(index + 1, total=req.chunks, message=f"chunk {index + 1}")
            status = app.get_status(ctx.task_id)
            assert status is not None
            seen.append(status.as_api_json())
        return ReportResult(rows=req.chunks * 10)

    return app


def no_sleep(seconds: float) -> None:
    raise AssertionError(f"a finished task needs no polling pause ({seconds} s)")


def test_wait_returns_the_output_model_of_a_finished_task(stack: Stack) -> None:
    seen: list[dict[str, Any]] = []
    app = report_app(stack, seen)
    handle = app.client().submit("report.generate", {"chunks": 3}, correlation_id="order-7")
    assert handle.status() is None  # not started yet

    stack.deliver(app, expect=1)

    assert handle.wait(timeout=30, sleep=no_sleep) == ReportResult(rows=30)
    status = handle.status()
    assert status is not None
    assert (status.status, status.attempt, status.correlation_id) == ("succeeded", 1, "order-7")
    assert status.progress is not None
    assert status.as_api_json()["progress"] == {
        "done": 3,
        "total": 3,
        "message": "chunk 3",
        "updated_at": status.progress.updated_at,
    }
    # the first report is written while the task runs, before the handler reads it back
    assert seen[0]["status"] == "running"
    assert seen[0]["correlation_id"] == "order-7"
    assert seen[0]["progress"]["done"] == 1
    assert seen[0]["progress"]["total"] == 3


def test_a_client_without_the_app_gets_json_or_the_model_it_names(stack: Stack) -> None:
    app = report_app(stack, [])
    task_id = app.client().submit("report.generate", {"chunks": 1}).task_id
    stack.deliver(app, expect=1)

    outside = TaskClient(stack.queue_url, settings=stack.settings(), dynamodb=stack.dynamodb)
    assert outside.handle(task_id).wait(timeout=30, sleep=no_sleep) == {"rows": 10}
    typed = outside.handle(task_id, output_model=ReportResult)
    assert typed.wait(timeout=30, sleep=no_sleep) == ReportResult(rows=10)


def test_wait_raises_task_failed_with_the_recorded_error(stack: Stack) -> None:
    app = report_app(stack, [])
    handle = app.client().submit("report.generate", {"chunks": -1})
    stack.deliver(app, expect=1)

    with pytest.raises(TaskFailedError) as failed:
        handle.wait(timeout=30, sleep=no_sleep)
    assert failed.value.task_id == handle.task_id
    assert failed.value.error_type == "PermanentError"
    assert failed.value.error_message == "chunks must not be negative"


def test_wait_polls_with_capped_backoff_and_times_out(stack: Stack) -> None:
    app = report_app(stack, [])
    handle = app.client().submit("report.generate", {"chunks": 1})
    now = [0.0]
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        now[0] += seconds

    with pytest.raises(WaitTimeoutError):
        handle.wait(timeout=20, clock=lambda: now[0], sleep=sleep)
    assert isinstance(WaitTimeoutError("x"), TimeoutError)
    assert sum(pauses) == pytest.approx(20)
    assert max(pauses) <= 5.0
    assert pauses[0] <= 0.2
    assert len(pauses) < 20  # it backs off instead of polling at the first pace


def test_wait_async_returns_the_result_without_blocking_the_loop(stack: Stack) -> None:
    app = report_app(stack, [])
    handle = app.client().submit("report.generate", {"chunks": 2})

    async def scenario() -> ReportResult:
        waiting = asyncio.create_task(handle.wait_async(timeout=60))
        await asyncio.sleep(0)  # the waiter polls (in a thread) and finds no status yet
        await asyncio.to_thread(stack.deliver, app, expect=1)
        result: ReportResult = await waiting
        return result

    assert asyncio.run(scenario()) == ReportResult(rows=20)


class Clock:
    """The status middleware's clock, moved by the test instead of by sleeping."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def cancel_app(stack: Stack, ran: list[str], *, stop: bool = True) -> tuple[TaskApp, Clock]:
    """A task whose caller cancels it while it runs (the handler plays the caller)."""
    app = stack.app()
    clock = Clock()

    @app.task("report.cancellable")
    def cancellable(req: Report, ctx: TaskContext) -> ReportResult:
        ran.append(ctx.task_id)
        assert not ctx.cancel_requested()  # known from the running write: no read
        assert app.client().handle(ctx.task_id).cancel()
        assert not ctx.cancel_requested()  # cached until the next check is due
        clock.now += CANCEL_CHECK_INTERVAL
        if ctx.cancel_requested() and stop:  # a handler may also see it and finish anyway
            raise TaskCancelledError()
        return ReportResult(rows=1)

    [status] = [item for item in app.dispatcher.middleware if isinstance(item, TaskStatusMiddleware)]
    status.clock = clock
    return app, clock


def test_cancelling_an_id_with_no_status_record_is_not_found_and_writes_nothing(stack: Stack) -> None:
    app = report_app(stack, [])
    client = app.client()
    with pytest.raises(TaskNotFoundError) as missing:
        client.cancel("never-submitted")
    assert missing.value.task_id == "never-submitted"
    assert client.status("never-submitted") is None  # no tombstone left behind

    handle = client.submit("report.generate", {"chunks": 1})  # queued: no record until it starts
    with pytest.raises(TaskNotFoundError):
        handle.cancel()
    stack.deliver(app, expect=1)
    assert handle.wait(timeout=30, sleep=no_sleep) == ReportResult(rows=10)


def flaky_app(stack: Stack, attempts: list[int], *, cancel_while_running: bool = False) -> TaskApp:
    """A task whose attempts fail transiently (retried at once); it may cancel itself."""
    app = stack.app(backoff_base_seconds=0.0, backoff_max_seconds=0.0)

    @app.task("report.flaky")
    def flaky(req: Report, ctx: TaskContext) -> ReportResult:
        attempts.append(ctx.attempt)
        if cancel_while_running:
            assert app.client().handle(ctx.task_id).cancel()
        raise ConnectionError("downstream blinked")  # retried... unless cancelled meanwhile

    return app


def test_a_task_cancelled_between_attempts_is_never_run_again(stack: Stack) -> None:
    ran: list[int] = []
    app = flaky_app(stack, ran)
    handle = app.client().submit("report.flaky", {"chunks": 1})
    stack.deliver(app, expect=1)
    status = handle.status()
    assert status is not None
    assert status.status == "retrying"
    assert handle.cancel() is True  # a record that is not final: the request is recorded

    assert stack.deliver(app, expect=1) == {"batchItemFailures": []}

    assert ran == [1]
    assert stack.visible_count() == 0
    assert stack.dead_letters() == []
    [event] = stack.events()
    assert (event["task_id"], event["status"]) == (handle.task_id, "cancelled")
    status = handle.status()
    assert status is not None
    assert (status.status, status.attempt, status.error_type) == ("cancelled", 2, "TaskCancelledError")
    assert status.cancel_requested_at is not None
    with pytest.raises(TaskCancelledError):
        handle.wait(timeout=30, sleep=no_sleep)


def test_a_running_task_sees_the_request_and_ends_cancelled(stack: Stack) -> None:
    ran: list[str] = []
    app, _ = cancel_app(stack, ran)
    handle = app.client().submit("report.cancellable", {"chunks": 1})

    assert stack.deliver(app, expect=1) == {"batchItemFailures": []}

    assert ran == [handle.task_id]
    assert stack.visible_count() == 0
    assert stack.dead_letters() == []
    [event] = stack.events()
    assert event["status"] == "cancelled"
    status = handle.status()
    assert status is not None
    assert status.status == "cancelled"
    assert status.as_api_json()["cancel_requested_at"] == status.cancel_requested_at


def test_a_task_that_finishes_despite_the_request_keeps_its_result(stack: Stack) -> None:
    ran: list[str] = []
    app, _ = cancel_app(stack, ran, stop=False)
    handle = app.client().submit("report.cancellable", {"chunks": 1})

    stack.deliver(app, expect=1)

    status = handle.status()
    assert status is not None
    assert status.status == "succeeded"
    assert status.cancel_requested_at is not None  # cancellation came too late
    assert handle.wait(timeout=30, sleep=no_sleep) == ReportResult(rows=1)
    assert [event["status"] for event in stack.events()] == ["succeeded"]


def test_cancelling_a_finished_task_is_refused_and_changes_nothing(stack: Stack) -> None:
    app = report_app(stack, [])
    handle = app.client().submit("report.generate", {"chunks": 1})
    stack.deliver(app, expect=1)

    assert handle.cancel() is False
    status = handle.status()
    assert status is not None
    assert (status.status, status.cancel_requested_at) == ("succeeded", None)
    assert handle.wait(timeout=30, sleep=no_sleep) == ReportResult(rows=10)


def test_no_later_attempt_starts_once_cancellation_was_requested(stack: Stack) -> None:
    attempts: list[int] = []
    app = flaky_app(stack, attempts, cancel_while_running=True)
    handle = app.client().submit("report.flaky", {"chunks": 1})
    stack.deliver(app, expect=1)
    status = handle.status()
    assert status is not None
    assert status.status == "running"  # the retrying write lost to the request
    assert status.cancel_requested_at is not None

    stack.deliver(app, expect=1)

    assert attempts == [1]
    assert stack.visible_count() == 0
    status = handle.status()
    assert status is not None
    assert (status.status, status.attempt) == ("cancelled", 2)
    assert [event["status"] for event in stack.events()] == ["cancelled"]

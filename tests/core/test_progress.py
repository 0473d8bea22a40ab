"""Progress reports: coalesced to one write per interval, the latest value always kept,
bad values refused, a failing write never raised into the task."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from taskworker import TaskApp, TaskContext
from taskworker.cancellation import CancelWatch
from taskworker.progress import ProgressReporter
from taskworker.status import Progress


class Job(BaseModel):
    steps: int


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class Silent:
    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, object]]] = []

    def log(self, level: int, message: str, *, extra: dict[str, object]) -> None:
        self.lines.append((message, extra))


def test_reports_are_written_at_most_once_per_interval_and_the_latest_is_kept() -> None:
    clock, written = Clock(), []
    reporter = ProgressReporter("t-1", written.append, Silent(), interval=1.0, clock=clock)
    for done in range(1, 101):  # a tight loop: one write, the rest coalesced
        reporter.report(done, total=100)
    clock.now += 0.5
    reporter.report(101, total=200, message="half a second later")
    clock.now += 0.5
    reporter.report(102, total=200)

    assert [progress.done for progress in written] == [1, 102]
    assert reporter.latest == Progress(102, 200, None, "1970-01-01T00:16:41.000Z")


def test_a_failing_write_is_logged_without_the_payload_and_not_raised() -> None:
    def refuse(progress: Progress) -> None:
        raise ConnectionError("dynamodb unreachable")

    logger = Silent()
    reporter = ProgressReporter("t-1", refuse, logger, clock=Clock())
    reporter.report(1, message="secret customer name")

    assert reporter.latest is not None
    [(message, extra)] = logger.lines
    assert message == "progress not written"
    assert extra == {"task_id": "t-1", "error": "ConnectionError: dynamodb unreachable"}


def test_report_progress_without_a_status_table_does_nothing_and_refuses_bad_values() -> None:
    app = TaskApp("progress-kit")
    errors: list[str] = []

    @app.task("job.run")
    def run(job: Job, ctx: TaskContext) -> None:
        for step in range(job.steps):
            ctx.report_progress(step + 1, total=job.steps, message="ok")
        for bad in ({"done": "3"}, {"done": True}, {"done": float("nan")}, {"done": 1, "total": "x"},
                    {"done": 1, "message": 7}):  # fmt: skip
            with pytest.raises(TypeError) as refused:
                ctx.report_progress(**bad)  # type: ignore[arg-type]
            errors.append(str(refused.value))

    app.testing.run("job.run", {"steps": 3})
    assert len(errors) == 5
    assert all(error.startswith("report_progress: ") for error in errors)


def test_cancel_checks_are_cached_and_a_failing_read_is_logged() -> None:
    clock, reads, logger = Clock(), [], Silent()
    answers: list[str | None] = [None, "2026-01-01T00:00:00.000Z"]

    def read() -> str | None:
        reads.append(clock.now)
        if not answers:
            raise ConnectionError("dynamodb unreachable")
        return answers.pop(0)

    watch = CancelWatch("t-1", read, logger, interval=5.0, clock=clock)
    assert not watch.requested()  # the first interval is free: the running write proved it
    assert reads == []
    clock.now += 5.0
    assert not watch.requested()
    assert not watch.requested()  # cached
    clock.now += 5.0
    assert watch.requested()
    clock.now += 5.0
    assert watch.requested()  # once true, never read again
    assert len(reads) == 2

    failing = CancelWatch("t-2", read, logger, interval=5.0, clock=clock)
    clock.now += 5.0
    assert not failing.requested()
    assert logger.lines == [
        ("cancellation not checked", {"task_id": "t-2", "error": "ConnectionError: dynamodb unreachable"})
    ]

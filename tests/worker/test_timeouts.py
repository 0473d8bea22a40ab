"""A task that runs past its ``timeout``: what each pool does, and that nothing is lost.

- async handlers (any pool, and Lambda): cancelled, the task fails with TaskTimeoutError;
- process pool: the child interrupts the sync handler, which fails with TaskTimeoutError;
- thread pool: a thread cannot be stopped, so its message is let go and it is reported.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path

import pytest
from pydantic import BaseModel

from taskworker import TaskApp
from taskworker.errors import TaskTimeoutError
from taskworker.messages import TaskMessage
from taskworker.outcomes import RetryLater
from taskworker.testing import sqs_record
from taskworker.testing.fake_sqs import FakeSQS
from tests.moto_env import MotoQueues
from tests.worker.helpers import make_app, make_queues, running_worker, send, wait_until


class Nap(BaseModel):
    seconds: float


def test_an_async_task_past_its_timeout_is_cancelled_and_retried() -> None:
    app = TaskApp("async-timeout")
    finished = []

    @app.task("nap", timeout=0.05)
    async def nap(item: Nap) -> None:
        await asyncio.sleep(item.seconds)
        finished.append(item.seconds)

    message = TaskMessage.from_lambda_record(sqs_record({"seconds": 30}, task_type="nap"))
    outcome = app.dispatcher.dispatch(message).outcome
    assert isinstance(outcome, RetryLater)
    assert outcome.error.type == TaskTimeoutError.__name__
    assert finished == []


def test_an_async_tasks_own_timeout_error_is_not_taken_for_its_timeout() -> None:
    app = TaskApp("own-timeout")

    @app.task("nap", timeout=30)
    async def nap(item: Nap) -> None:
        raise TimeoutError("the database did not answer")

    message = TaskMessage.from_lambda_record(sqs_record({"seconds": 0}, task_type="nap"))
    outcome = app.dispatcher.dispatch(message).outcome
    assert isinstance(outcome, RetryLater)
    assert outcome.error.type == "TimeoutError"


def test_a_thread_task_past_its_timeout_has_its_message_let_go_and_is_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sqs = FakeSQS()
    queue_url, dlq_url = make_queues(sqs, "let-go", max_receives=5, visibility=30)
    app = make_app("letgo", sqs, queue_url, dlq_url)
    release = threading.Event()
    starts: list[float] = []

    @app.task("nap", timeout=0.2)
    def nap(item: Nap) -> None:
        starts.append(item.seconds)
        if len(starts) == 1:
            release.wait(30)  # the first run hangs past its timeout

    [task_id] = send(sqs, queue_url, "nap", [{"seconds": 1}])
    with caplog.at_level(logging.ERROR, logger="test.letgo"), running_worker(app, concurrency=2):
        wait_until(lambda: len(starts) == 2, timeout=30)  # delivered again while the first hangs
        release.set()
    [line] = [r for r in caplog.records if "ran past its timeout" in r.getMessage()]
    assert line.task_id == task_id  # type: ignore[attr-defined]


PROCESS_APP = """
import time
from pydantic import BaseModel
from taskworker import TaskApp

app = TaskApp("proc-timeout")

class Nap(BaseModel):
    seconds: float

@app.task("nap", timeout=0.5)
def nap(item: Nap) -> None:
    time.sleep(item.seconds)
"""


def test_a_process_task_past_its_timeout_is_stopped_and_retried(
    moto_queues: MotoQueues, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "proc_timeout_app.py").write_text(PROCESS_APP)
    monkeypatch.syspath_prepend(str(tmp_path))
    import proc_timeout_app  # type: ignore[import-not-found]

    from taskworker import Settings
    from taskworker.aws import Clients

    app = proc_timeout_app.app
    app.configure(
        settings=Settings(queue_url=moto_queues.queue_url, dlq_url=moto_queues.dlq_url),
        clients=Clients(sqs=moto_queues.sqs),
    )
    seen = []
    core = app.dispatcher
    original = core.finish_batch
    monkeypatch.setattr(core, "finish_batch", lambda batch: (seen.extend(batch), original(batch))[1])
    send(moto_queues.sqs, moto_queues.queue_url, "nap", [{"seconds": 60}])
    started = time.monotonic()
    with running_worker(app, pool="process", concurrency=1, app_path="proc_timeout_app:app"):
        wait_until(lambda: bool(seen), timeout=40)
    assert time.monotonic() - started < 40  # stopped, not slept out
    assert isinstance(seen[0].outcome, RetryLater)
    assert seen[0].outcome.error.type == "TaskTimeoutError"

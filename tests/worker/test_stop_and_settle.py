"""The worker settles before a FIFO group goes on, and stops without waiting for a poll."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from taskworker import Settings, TaskApp
from taskworker.aws import Clients
from taskworker.aws.batch import DEFAULT_POLICY
from taskworker.handlers.worker import Worker, WorkerOptions
from taskworker.testing.fake_sqs import FakeSQS
from tests.core.sns_stub import RefusingSNS
from tests.moto_env import MotoQueues
from tests.worker.helpers import make_queues, queue_depth, running_worker, send, wait_until

TOPIC = "arn:aws:sns:us-east-1:123456789012:results"


class Step(BaseModel):
    n: int


def test_a_fifo_message_whose_event_is_not_published_is_not_overtaken_by_its_group() -> None:
    sqs = FakeSQS()
    queue_url, dlq_url = make_queues(sqs, "events", fifo=True, max_receives=5)
    first, second = send(sqs, queue_url, "step", [{"n": 1}, {"n": 2}], group="g")
    sns = RefusingSNS({first}, times=DEFAULT_POLICY.attempts)  # every attempt of the first settle fails
    settings = Settings(
        queue_url=queue_url,
        dlq_url=dlq_url,
        result_topic_arn=TOPIC,
        backoff_base_seconds=0,
        backoff_max_seconds=0,
    )
    app = TaskApp("events", settings=settings, clients=Clients(sqs=sqs, sns=sns))
    ran: list[int] = []

    @app.task("step")
    def step(item: Step) -> None:
        ran.append(item.n)

    with running_worker(app, concurrency=4):
        wait_until(lambda: len(sns.published) == 2, timeout=30)
        wait_until(lambda: queue_depth(sqs, queue_url) == (0, 0))
    assert sns.published == [first, second]  # the second never went out before the first
    assert ran == [1, 1, 2]


TRIPWIRE = """
import importlib.abc, os, signal, sys

class SignalDuringImport(importlib.abc.MetaPathFinder):
    # SIGTERM lands while the first log line imports powertools' logger (half initialised).
    def find_spec(self, name, path=None, target=None):
        if name == "aws_lambda_powertools.logging":
            sys.meta_path.remove(self)
            open(os.environ["TRIPPED"], "w").close()
            os.kill(os.getpid(), signal.SIGTERM)
        return None

assert "aws_lambda_powertools" not in sys.modules, "powertools already imported: no window"
sys.meta_path.insert(0, SignalDuringImport())

from pydantic import BaseModel
from taskworker import TaskApp

app = TaskApp("tripwire")

class Job(BaseModel):
    n: int

@app.task("job")
def job(item: Job) -> None:
    pass
"""


def test_sigterm_during_the_first_lazy_import_stops_the_worker_cleanly(
    moto_queues: MotoQueues, tmp_path: Path
) -> None:
    (tmp_path / "tripwire_app.py").write_text(textwrap.dedent(TRIPWIRE))
    tripped = tmp_path / "tripped"
    env = moto_queues.env(PYTHONPATH=str(tmp_path), TRIPPED=str(tripped))
    command = [sys.executable, "-m", "taskworker.cli", "worker", "tripwire_app:app", "--wait-time", "1"]
    done = subprocess.run(command, env=env, capture_output=True, timeout=60, check=False)
    assert tripped.exists(), "the signal was not delivered during the import"
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    assert b"partially initialized" not in done.stderr


class ObservedSQS:
    """A real client whose ReceiveMessage calls can be watched from the test."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.polling = threading.Event()
        self.returned = threading.Event()

    def receive_message(self, **call: Any) -> Any:
        self.polling.set()
        try:
            return self._client.receive_message(**call)
        finally:
            self.returned.set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_stopping_does_not_wait_for_the_long_poll_and_loses_nothing(moto_queues: MotoQueues) -> None:
    sqs = ObservedSQS(moto_queues.sqs)
    settings = Settings(queue_url=moto_queues.queue_url, dlq_url=moto_queues.dlq_url)
    app = TaskApp("idle", settings=settings, clients=Clients(sqs=sqs))

    @app.task("step")
    def step(item: Step) -> None:
        raise AssertionError("nothing may start after the stop")

    worker = Worker.for_app(app, WorkerOptions(wait_time_seconds=20, grace_seconds=30))
    stopped: dict[str, Any] = {}

    def run() -> None:
        stopped["code"] = worker.run()
        stopped["poll_returned"] = sqs.returned.is_set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert sqs.polling.wait(30)
    worker.stop()
    thread.join(8)  # the poll in flight would hold it for up to 20 s
    assert not thread.is_alive()
    assert stopped == {"code": 0, "poll_returned": False}

    # What the abandoned poll still receives is given back at once, not lost.
    [task_id] = send(moto_queues.sqs, moto_queues.queue_url, "step", [{"n": 1}])
    assert sqs.returned.wait(30)
    wait_until(lambda: queue_depth(moto_queues.sqs, moto_queues.queue_url) == (1, 0), timeout=30)
    again = moto_queues.sqs.receive_message(QueueUrl=moto_queues.queue_url, WaitTimeSeconds=1)
    assert [m["MessageId"] for m in again["Messages"]] == [task_id]

"""The worker against moto's server over HTTP: heartbeat, process pool, SIGTERM, kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pytest
from pydantic import BaseModel

from taskworker.aws import Clients
from tests.moto_env import MotoQueues
from tests.worker.helpers import (
    Recorder,
    make_app,
    make_queues,
    queue_depth,
    running_worker,
    send,
    wait_until,
)


class Nap(BaseModel):
    n: int
    sleep: float = 0.0


@pytest.mark.parametrize("transport", ["boto3", "direct"])
def test_heartbeat_task_running_three_visibility_timeouts_is_delivered_once(
    moto_queues: MotoQueues, transport: str
):
    sqs = moto_queues.sqs
    app = make_app("heartbeat", sqs, moto_queues.queue_url, moto_queues.dlq_url)
    recorder = Recorder()

    @app.task("nap")
    def nap(item: Nap) -> None:
        recorder.enter(item.n)
        time.sleep(item.sleep)

    send(sqs, moto_queues.queue_url, "nap", [{"n": 1, "sleep": 3.3}])
    with running_worker(app, visibility_timeout=1, concurrency=4, sqs_transport=transport) as worker:
        wait_until(lambda: worker.stats["finished"] == 1, timeout=15)
        wait_until(lambda: queue_depth(sqs, moto_queues.queue_url) == (0, 0))
        time.sleep(1.2)  # had the heartbeat failed, the message would be back by now
    assert recorder.calls == [1]
    assert worker.stats["received"] == 1


CPU_APP = """
import hashlib, os
from pydantic import BaseModel
from taskworker import TaskApp

app = TaskApp("cpu")

class Work(BaseModel):
    n: int
    rounds: int = 60_000

class Done(BaseModel):
    n: int
    pid: int
    digest: str

@app.task("crunch", timeout=60)
def crunch(work: Work) -> Done:
    value = str(work.n).encode()
    for _ in range(work.rounds):
        value = hashlib.sha256(value).digest()
    return Done(n=work.n, pid=os.getpid(), digest=value.hex()[:12])
"""


def write_module(directory: Path, name: str, source: str) -> None:
    (directory / f"{name}.py").write_text(textwrap.dedent(source))


def test_process_pool_runs_cpu_bound_tasks_in_children(moto_queues: MotoQueues, tmp_path, monkeypatch):
    write_module(tmp_path, "cpu_app_mod", CPU_APP)
    monkeypatch.syspath_prepend(str(tmp_path))
    import cpu_app_mod  # type: ignore[import-not-found]

    from taskworker import Settings

    app = cpu_app_mod.app
    app.clients = Clients(sqs=moto_queues.sqs)
    app.configure(settings=Settings(queue_url=moto_queues.queue_url, dlq_url=moto_queues.dlq_url))
    results: list[Any] = []
    core = app.dispatcher
    original = core.finish_batch
    monkeypatch.setattr(core, "finish_batch", lambda batch: (results.extend(batch), original(batch))[1])
    send(moto_queues.sqs, moto_queues.queue_url, "crunch", [{"n": i} for i in range(8)])
    with running_worker(app, pool="process", concurrency=2, app_path="cpu_app_mod:app"):
        wait_until(lambda: len(results) == 8, timeout=60)
        wait_until(lambda: queue_depth(moto_queues.sqs, moto_queues.queue_url) == (0, 0))
    assert sorted(r.outcome.result.n for r in results) == list(range(8))
    pids = {r.outcome.result.pid for r in results}
    assert os.getpid() not in pids
    assert len(pids) == 2
    assert all(r.task is app.registry["crunch"] for r in results)


JOURNAL_APP = """
import os, time
from pydantic import BaseModel
from taskworker import TaskApp

app = TaskApp("journal")

class Job(BaseModel):
    n: int
    sleep: float = 1.0

def note(line):
    fd = os.open(os.environ["JOURNAL"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(fd, (line + "\\n").encode())
    os.close(fd)

@app.task("job")
def job(item: Job) -> None:
    note(f"start {item.n}")
    time.sleep(item.sleep)
    note(f"done {item.n}")
"""


def start_worker(
    queues: MotoQueues, tmp_path: Path, *options: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    env = queues.env(PYTHONPATH=str(tmp_path), JOURNAL=str(tmp_path / "journal"), **(env or {}))
    command = [
        sys.executable,
        "-m",
        "taskworker.cli",
        "worker",
        "journal_app:app",
        "--wait-time",
        "1",
        *options,
    ]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def journal(tmp_path: Path) -> Counter[str]:
    path = tmp_path / "journal"
    return Counter(path.read_text().splitlines()) if path.exists() else Counter()


def events(tmp_path: Path, kind: str) -> Counter[int]:
    return Counter(
        {int(line.split()[1]): count for line, count in journal(tmp_path).items() if line.startswith(kind)}
    )


@pytest.mark.parametrize("transport", ["boto3", "direct"])
def test_sigterm_lets_running_tasks_finish_and_loses_nothing(
    moto_queues: MotoQueues, tmp_path, transport: str
):
    write_module(tmp_path, "journal_app", JOURNAL_APP)
    send(moto_queues.sqs, moto_queues.queue_url, "job", [{"n": i, "sleep": 1.5} for i in range(8)])
    worker = start_worker(
        moto_queues, tmp_path, "--concurrency", "4", "--grace", "10", "--sqs-transport", transport
    )
    try:
        wait_until(lambda: sum(events(tmp_path, "start").values()) == 4, timeout=30)
        stopped_at = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=15)
        elapsed = time.monotonic() - stopped_at
    finally:
        worker.kill()
    assert code == 0, worker.stderr.read().decode()[-2000:] if worker.stderr else ""
    assert elapsed < 10
    started, done = events(tmp_path, "start"), events(tmp_path, "done")
    assert started == done  # the running four finished, nothing else started
    assert len(done) == 4
    assert queue_depth(moto_queues.sqs, moto_queues.queue_url) == (4, 0)  # the rest is visible now

    again = start_worker(
        moto_queues, tmp_path, "--concurrency", "4", "--exit-when-empty", "--sqs-transport", transport
    )
    assert again.wait(timeout=30) == 0
    assert events(tmp_path, "done") == Counter(range(8))  # every task once, none twice
    assert events(tmp_path, "start") == Counter(range(8))


@pytest.mark.parametrize("transport", ["boto3", "direct"])
def test_kill_9_mid_batch_then_restart_completes_every_task(
    moto_queues: MotoQueues, tmp_path, transport: str
):
    write_module(tmp_path, "journal_app", JOURNAL_APP)
    send(moto_queues.sqs, moto_queues.queue_url, "job", [{"n": i, "sleep": 0.4} for i in range(12)])
    options = ("--concurrency", "4", "--visibility-timeout", "2", "--sqs-transport", transport)
    worker = start_worker(moto_queues, tmp_path, *options)
    try:
        wait_until(lambda: sum(events(tmp_path, "start").values()) >= 6, timeout=30)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        worker.kill()
    interrupted = set(events(tmp_path, "start")) - set(events(tmp_path, "done"))
    assert interrupted, "the kill should have hit running tasks"

    restarted = start_worker(moto_queues, tmp_path, *options)
    try:
        wait_until(lambda: set(events(tmp_path, "done")) == set(range(12)), timeout=40)
        wait_until(lambda: queue_depth(moto_queues.sqs, moto_queues.queue_url) == (0, 0), timeout=10)
        restarted.send_signal(signal.SIGTERM)
        assert restarted.wait(timeout=15) == 0
    finally:
        restarted.kill()


RESULT_JOURNAL_APP = (
    JOURNAL_APP.replace('@app.task("job")', '@app.task("job", timeout=1)')
    .replace("def job(item: Job) -> None:", "def job(item: Job) -> Ran:")
    .replace('    note(f"done {item.n}")\n', '    note(f"done {item.n}")\n    return Ran(n=item.n)\n')
    .replace("class Job(BaseModel):", "class Ran(BaseModel):\n    n: int\n\nclass Job(BaseModel):")
)


def test_kill_9_with_idempotency_never_reruns_a_recorded_task(moto_endpoint: str, moto_sqs: Any, tmp_path):
    """A task whose result was recorded before the kill but whose message was not yet
    deleted comes back, and idempotency answers it from the store without running it.

    (A task killed between its last line and the recording of its result is run again:
    no consumer can make a side effect and a record atomic; idempotency narrows the window
    to that instant. Tasks cut off mid-run hold an in-progress lock that ends with their
    lease, timeout plus margins, after which their retry runs them.)"""
    name = f"k-{uuid.uuid4().hex[:10]}"
    queue_url, dlq_url = make_queues(moto_sqs, name, max_receives=10, visibility=2)
    queues = MotoQueues(moto_endpoint, moto_sqs, queue_url, dlq_url)
    table = idempotency_table(moto_endpoint, name)
    write_module(tmp_path, "journal_app", RESULT_JOURNAL_APP)
    send(moto_sqs, queue_url, "job", [{"n": i, "sleep": 0.3} for i in range(12)])
    env = {"TASKWORKER_IDEMPOTENCY_TABLE": table, "TASKWORKER_BACKOFF_BASE_SECONDS": "1"}
    options = ("--concurrency", "4", "--visibility-timeout", "2")
    worker = start_worker(queues, tmp_path, *options, env=env)
    try:
        wait_until(lambda: sum(events(tmp_path, "done").values()) >= 5, timeout=30)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        worker.kill()
    recorded = recorded_results(moto_endpoint, table)
    assert recorded, "the kill should come after some results were recorded"

    restarted = start_worker(queues, tmp_path, *options, env=env)
    try:
        wait_until(lambda: set(events(tmp_path, "done")) == set(range(12)), timeout=60)
        wait_until(lambda: queue_depth(moto_sqs, queue_url) == (0, 0), timeout=20)
        restarted.send_signal(signal.SIGTERM)
        assert restarted.wait(timeout=15) == 0
    finally:
        restarted.kill()
    done = events(tmp_path, "done")
    assert set(done) == set(range(12))  # every task completed
    assert {n: done[n] for n in recorded} == dict.fromkeys(recorded, 1)  # recorded ones ran once
    assert queue_depth(moto_sqs, dlq_url) == (0, 0)


def recorded_results(endpoint: str, table: str) -> set[int]:
    """Task numbers whose result powertools recorded as COMPLETED."""
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    items = dynamodb.scan(TableName=table)["Items"]
    completed = [item for item in items if item["status"]["S"] == "COMPLETED"]
    return {json.loads(item["data"]["S"])["result"]["n"] for item in completed}


def idempotency_table(endpoint: str, name: str) -> str:
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name

"""``taskworker dev``'s terminal shows a running task's progress as it reports it, and a
task can be cancelled through the local API while it runs; in both runtimes."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

pytest.importorskip("moto")

from pydantic import BaseModel

from taskworker import TaskApp, TaskContext
from taskworker.dev import DevStack, DevStackConfig
from taskworker.dev.demo import post, wait_for
from taskworker.dev.event_source import EventSourceConfig
from taskworker.dev.resources import DevResources
from taskworker.dev.results_log import describe_progress
from taskworker.status import Progress, TaskStatus

app = TaskApp("devprogress")
release = threading.Event()


class Chunks(BaseModel):
    total: int


class Done(BaseModel):
    chunks: int


@app.task("report.chunked", timeout=60)
def chunked(req: Chunks, ctx: TaskContext) -> Done:
    ctx.report_progress(1, total=req.total, message="chunk 1")
    release.wait(timeout=60)  # the test lets it finish once it has seen the line
    return Done(chunks=req.total)


class Lines:
    """What the dev stack printed, waited for without sleeping longer than needed."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()

    def __call__(self, line: str) -> None:
        with self._changed:
            self.lines.append(line)
            self._changed.notify_all()

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [line for line in self.lines if text in line]
                if found:
                    return found[0]
                left = deadline - time.monotonic()
                assert left > 0, f"no line with {text!r} in {self.lines}"
                self._changed.wait(left)


@pytest.fixture(params=["lambda", "worker"])
def stack(request: pytest.FixtureRequest) -> Iterator[tuple[DevStack, Lines]]:
    config = DevStackConfig(
        port=0,
        runtime=request.param,
        resources=DevResources(prefix=f"p-{request.param}"),
        event_source=EventSourceConfig(batch_size=1, function_timeout=90),
    )
    lines = Lines()
    release.clear()
    with DevStack(app, config, printer=lines) as running:
        yield running, lines
        release.set()


def _delete(api: str, task_id: str) -> tuple[int, dict[str, str]]:
    parts = urlsplit(api)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    connection.request("DELETE", f"/tasks/{task_id}")
    response = connection.getresponse()
    body = json.loads(response.read())
    connection.close()
    return response.status, body


def test_the_terminal_shows_a_running_tasks_progress(stack: tuple[DevStack, Lines]) -> None:
    running, lines = stack
    assert running.api is not None
    api = running.api.url
    task_id = post(api, "report.chunked", {"total": 4})[1]["task_id"]

    line = lines.wait_for(task_id[:8])
    assert line == f"… report.chunked {task_id[:8]}… running: 1/4 (25%) chunk 1"

    status, body = _delete(api, task_id)  # cancellation through the local API, while it runs
    assert status == 202
    assert body["task_id"] == task_id
    release.set()
    finished = wait_for(api, [task_id], timeout=30)[task_id]
    assert finished["status"] == "succeeded"  # it did not ask: it keeps its result
    assert finished["result"] == {"chunks": 4}
    assert _delete(api, task_id)[0] == 409
    assert _delete(api, "never-submitted")[0] == 404
    lines.wait_for("succeeded")
    assert len([line for line in lines.lines if task_id[:8] in line and "running" in line]) == 1


@pytest.mark.parametrize(
    ("progress", "shown"),
    [
        (Progress(3, 10, "chunk 3", "t"), "running: 3/10 (30%) chunk 3"),
        (Progress(2.5, None, None, "t"), "running: 2.5"),
        (Progress(7, 0, "x" * 200, "t"), "running: 7 " + "x" * 79 + "…"),
    ],
)
def test_progress_lines_read_like_the_status_json(progress: Progress, shown: str) -> None:
    status = TaskStatus("0123456789", "report.generate", "running", 1, "", "", 0, progress=progress)
    assert describe_progress(status, progress) == f"… report.generate 01234567… {shown}"

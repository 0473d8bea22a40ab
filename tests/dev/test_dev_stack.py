"""End to end through the local stack: HTTP -> queue -> consumer -> status, SNS and DLQ,
against the embedded endpoint (moto's server over HTTP), in both runtimes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("moto")

from taskworker.dev import DevStack, DevStackConfig
from taskworker.dev.demo import get, post, wait_for
from taskworker.dev.event_source import EventSourceConfig
from taskworker.dev.ports import PortInUseError
from taskworker.dev.resources import DevResources
from tests.dev import dev_app


@pytest.fixture(params=["lambda", "worker"])
def stack(request: pytest.FixtureRequest) -> Iterator[DevStack]:
    config = DevStackConfig(
        port=0,
        runtime=request.param,
        resources=DevResources(prefix=f"t-{request.param}"),
        event_source=EventSourceConfig(batch_size=10, function_timeout=30),
    )
    dev_app.runs.clear()
    with DevStack(dev_app.app, config, printer=lambda line: None) as running:
        yield running


def _api(stack: DevStack) -> str:
    assert stack.api is not None
    return stack.api.url


def test_valid_tasks_succeed_with_status_and_result_event(stack: DevStack) -> None:
    api = _api(stack)
    ids = [post(api, "echo.run", {"text": f"hello {i}"})[1]["task_id"] for i in range(3)]
    statuses = wait_for(api, ids, timeout=30)
    for i, task_id in enumerate(ids):
        status = statuses[task_id]
        assert status["status"] == "succeeded"
        assert status["result"] == {"text": f"HELLO {i}", "length": 7}
        assert status["task_type"] == "echo.run"
    events = _events(stack, len(ids))
    assert {e["task_id"] for e in events} == set(ids)
    assert all(e["status"] == "succeeded" for e in events)


def test_invalid_requests_get_4xx_and_never_reach_the_queue(stack: DevStack) -> None:
    api = _api(stack)
    assert post(api, "echo.run", {"text": "x" * 101})[0] == 400
    assert (
        post(api, "echo.run", {"wrong": 1})[1]["message"]
        == "the request body does not match the task input schema"
    )
    assert post(api, "echo.nope", {"text": "a"})[0] == 404
    assert _raw_post(api, "/tasks/echo.run", b"{}", "text/plain") == 415
    assert _raw_post(api, "/tasks/echo.run", b"{" * 300_000, "application/json") == 400  # as SQS refuses it
    assert _raw_post(api, "/tasks/echo.run", b"{not json", "application/json") == 400
    assert get(api, "no-such-task")[0] == 404
    ok = post(api, "echo.run", {"text": "fine"})[1]["task_id"]
    assert wait_for(api, [ok], timeout=30)[ok]["status"] == "succeeded"
    assert dict(dev_app.runs) == {"fine": 1}
    assert _dlq(stack) == []


def test_failing_task_ends_in_the_dlq_with_its_reason(stack: DevStack) -> None:
    api = _api(stack)
    task_id = post(api, "echo.run", {"text": "poison"})[1]["task_id"]
    status = wait_for(api, [task_id], timeout=30)[task_id]
    assert status["status"] == "failed"
    assert status["error"] == {"type": "PermanentError", "message": "poison pill"}
    dead = _dlq(stack)
    assert len(dead) == 1
    assert dead[0]["error_type"] == "PermanentError"
    assert dead[0]["error_message"] == "poison pill"
    assert dead[0]["body"] == json.dumps({"text": "poison"})


def test_idempotency_key_prevents_a_second_run(stack: DevStack) -> None:
    api = _api(stack)
    first = post(api, "echo.run", {"text": "once"}, key="k-1")[1]["task_id"]
    assert wait_for(api, [first], timeout=30)[first]["status"] == "succeeded"
    second = post(api, "echo.run", {"text": "once"}, key="k-1")[1]["task_id"]
    assert second != first
    assert wait_for(api, [second], timeout=30)[second]["status"] == "succeeded"
    assert dev_app.runs["once"] == 1


def test_a_taken_port_gives_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        stack = DevStack(dev_app.app, DevStackConfig(port=port, resources=DevResources(prefix="t-port")))
        with pytest.raises(PortInUseError, match=f"port {port} .* already in use.*--port"):
            stack.start()


def test_demo_command_exits_zero() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "taskworker", "demo", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Demo complete." in result.stdout


def _events(stack: DevStack, count: int) -> list[dict[str, Any]]:
    import time

    assert stack.results is not None
    deadline = time.monotonic() + 10
    while len(stack.results.events) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return list(stack.results.events)


def _dlq(stack: DevStack) -> list[dict[str, str]]:
    sqs = stack.app.clients.sqs
    response = sqs.receive_message(
        QueueUrl=stack.app.settings.dlq_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )
    return [
        {"body": m["Body"], **{k: v["StringValue"] for k, v in m["MessageAttributes"].items()}}
        for m in response.get("Messages", [])
    ]


def _raw_post(api: str, path: str, body: bytes, content_type: str) -> int:
    request = urllib.request.Request(
        api + path, data=body, headers={"Content-Type": content_type}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code

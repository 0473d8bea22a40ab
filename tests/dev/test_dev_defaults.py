"""``taskworker dev`` for any app: names per app, the deployed defaults, an honest port
check, an event source that checks its deletes, and a demo that says what it tours."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from taskworker import TaskApp
from taskworker.dev import DevStack, DevStackConfig
from taskworker.dev.event_source import EventSourceConfig, LambdaEventSource
from taskworker.dev.ports import PortInUseError, ensure_free
from taskworker.dev.resources import (
    DevResources,
    consumer_timeout,
    prefix_for,
    provision_queues,
    visibility_for,
)
from taskworker.testing import FakeSQS


class Note(BaseModel):
    text: str


def _app(name: str, seen: list[str]) -> TaskApp:
    app = TaskApp(name)

    @app.task(f"{name}.note", timeout=5)
    def note(req: Note) -> None:
        seen.append(req.text)

    return app


def test_resource_names_follow_the_app_name() -> None:
    assert prefix_for("Shop Tasks") == "shop-tasks"
    assert prefix_for("billing_v2") == "billing_v2"
    assert len(DevResources(prefix=prefix_for("x" * 200), fifo=True).dlq) <= 80
    with pytest.raises(ValueError, match="--prefix"):
        prefix_for("!!!")


def test_two_apps_on_one_endpoint_keep_their_own_tasks(moto_endpoint: str) -> None:
    suffix = uuid.uuid4().hex[:6]
    shop_seen: list[str] = []
    billing_seen: list[str] = []
    shop, billing = _app(f"shop{suffix}", shop_seen), _app(f"billing{suffix}", billing_seen)
    config = DevStackConfig(port=0, endpoint_url=moto_endpoint)
    with (
        DevStack(shop, config, printer=lambda _: None) as one,
        DevStack(billing, config, printer=lambda _: None) as two,
    ):
        assert one.app.settings.queue_url != two.app.settings.queue_url
        shop.client().submit(f"shop{suffix}.note", {"text": "for shop"})
        billing.client().submit(f"billing{suffix}.note", {"text": "for billing"})
        _wait(lambda: shop_seen and billing_seen)
        assert one.app.settings.dlq_url is not None
        assert _visible(one.app.clients.sqs, one.app.settings.dlq_url) == 0
        assert _visible(two.app.clients.sqs, str(two.app.settings.dlq_url)) == 0
    assert (shop_seen, billing_seen) == (["for shop"], ["for billing"])


def test_defaults_are_the_deployed_stacks() -> None:
    pytest.importorskip("aws_cdk")
    infra = str(Path(__file__).resolve().parents[2] / "infra")
    if infra not in sys.path:
        sys.path.insert(0, infra)
    from taskworker_infra import ConsumerOptions
    from taskworker_infra.queues import MAX_RECEIVE_COUNT
    from taskworker_infra.timeouts import lambda_timeout, required_consumer_timeout, visibility_timeout

    options = ConsumerOptions()
    assert EventSourceConfig().batch_size == options.batch_size
    assert DevResources().max_receive_count == MAX_RECEIVE_COUNT
    for timeouts in ([], [None], [5.0], [120.0, None], [870.0]):
        required = required_consumer_timeout(
            timeouts,
            default_task_timeout=options.default_task_timeout.to_seconds(),
            margin=options.timeout_margin.to_seconds(),
        )
        deployed = lambda_timeout(required, batch_size=options.batch_size)
        assert consumer_timeout(timeouts) == deployed
        assert visibility_for(deployed) == visibility_timeout(deployed)


def test_the_stack_applies_the_derived_timeouts() -> None:
    app = _app("timeouts", [])
    stack = DevStack(app, DevStackConfig(port=0))
    assert stack.function_timeout == 35
    assert stack.resources.visibility_timeout == 6 * 35
    assert stack.resources.prefix == "timeouts"


def test_a_port_in_time_wait_is_free_but_a_listener_is_not() -> None:
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(PortInUseError):
            ensure_free(port, "local API", "--port")
        client = socket.create_connection(("127.0.0.1", port))
        served, _ = listener.accept()
        served.close()  # the server side closes first: its end lingers in TIME_WAIT
        client.close()
    ensure_free(port, "local API", "--port")


def test_the_event_source_reports_a_refused_delete(caplog: pytest.LogCaptureFixture) -> None:
    sqs = FakeSQS()
    queues = provision_queues(DevResources(prefix="deletes"), sqs)
    sqs.send_message(QueueUrl=queues.queue_url, MessageBody="{}")
    source = LambdaEventSource(sqs, queues.queue_url, lambda event, context: {"batchItemFailures": []})
    sqs.fail_next("DeleteMessageBatch", entries=["0"], code="ReceiptHandleIsInvalid", sender_fault=True)
    with caplog.at_level(logging.WARNING, logger="taskworker.dev"):
        assert source.poll_once() == 1
    assert source.undeleted == 1
    assert "could not delete" in caplog.text


def test_demo_of_another_app_says_it_tours_the_example_only() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "taskworker", "demo", "--app", "tests.dev.dev_app:app"],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "tours the example app (examples.reports:app) only" in result.stdout + result.stderr
    assert "KeyError" not in result.stdout + result.stderr


def _visible(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def _wait(predicate: Any, timeout: float = 30.0) -> None:
    import time

    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "condition not met in time"
        time.sleep(0.05)

"""Queue declarations: each task on its lane, every impossible pairing refused at import."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from taskworker import Settings, TaskApp, TaskDefinitionError
from taskworker.queues import DEFAULT_QUEUE


class Video(BaseModel):
    url: str


def _task(app: TaskApp, name: str, **options: Any) -> None:
    @app.task(name, **options)
    def handler(req: Video) -> None:
        pass


def test_tasks_travel_on_their_declared_queue_and_the_rest_on_the_default() -> None:
    app = TaskApp("media")
    _task(app, "thumbnail.make", timeout=20)
    _task(app, "video.transcode", timeout=3600, queue="long")
    long = app.queue("long", consumer="worker", concurrency=4, max_receive_count=3)

    assert app.queue_of("video.transcode") is long
    assert app.queue_of("thumbnail.make").name == DEFAULT_QUEUE
    assert app.queue_of("no.such.task").name == DEFAULT_QUEUE
    assert [t.name for t in app.tasks_on("long")] == ["video.transcode"]
    assert list(app.queues) == ["default", "long"]
    app.check()


def test_a_task_on_an_undeclared_queue_stops_the_app_at_load_and_at_first_use() -> None:
    app = TaskApp("media")
    _task(app, "video.transcode", queue="long")
    with pytest.raises(TaskDefinitionError, match=r"'video.transcode' is on queue 'long'.*app.queue\('long'"):
        app.check()
    with pytest.raises(TaskDefinitionError, match="not declared"):
        app.dispatcher  # noqa: B018 - building the runtime checks the declarations
    with pytest.raises(TaskDefinitionError, match="not declared"):
        app.client(queue_url="https://sqs.example/q")


@pytest.mark.parametrize("task_first", [True, False])
def test_a_lambda_queue_refuses_a_task_longer_than_fifteen_minutes_in_either_order(task_first: bool) -> None:
    app = TaskApp("media")
    refused = pytest.raises(TaskDefinitionError, match=r"'video.transcode': timeout=3600 s .* worker queue")
    if task_first:
        _task(app, "video.transcode", timeout=3600, queue="long")
        with refused:
            app.queue("long", consumer="lambda")
        assert "long" not in app.queues
    else:
        app.queue("long", consumer="lambda")
        with refused:
            _task(app, "video.transcode", timeout=3600, queue="long")
        assert "video.transcode" not in app.registry


def test_a_grouped_task_needs_a_fifo_queue() -> None:
    app = TaskApp("orders")
    app.queue("ordered", fifo=True)
    app.queue("plain")
    _task(app, "order.ship", message_group="tenant", queue="ordered")
    with pytest.raises(TaskDefinitionError, match=r"'order.bill': message_group='tenant'.*FIFO queue"):
        _task(app, "order.bill", message_group="tenant", queue="plain")
    assert app.queue("events.fifo").fifo


def test_the_implicit_default_queue_keeps_the_deployments_choice() -> None:
    """Undeclared, the default queue's consumer is AsyncTaskService(worker=...)'s: not checked."""
    app = TaskApp("legacy")
    _task(app, "report.long", timeout=3600)
    _task(app, "report.grouped", message_group="tenant")
    app.check()
    with pytest.raises(TaskDefinitionError, match=r"'report\.long': timeout=3600"):
        app.queue("default", fifo=True)


@pytest.mark.parametrize(
    ("name", "options", "fix"),
    [
        ("Long", {}, r"invalid queue name 'Long'"),
        ("long", {"consumer": "fargate"}, r"consumer='fargate' must be 'lambda' or 'worker'"),
        ("long", {"consumer": "worker", "batch_size": 5}, r"batch_size applies to consumer='lambda'"),
        ("long", {"concurrency": 4}, r"concurrency applies to consumer='worker'"),
        ("long", {"max_concurrency": 1}, r"max_concurrency=1 must be a whole number from 2 to 1000"),
        ("long.fifo", {"batch_size": 11}, r"batch_size=11 must be a whole number from 1 to 10"),
        ("long.fifo", {"fifo": False}, r"ending in '.fifo' is a FIFO queue"),
        ("long", {"max_receive_count": True}, r"max_receive_count=True must be a whole number"),
    ],
)
def test_wrong_queue_options_are_refused_with_the_fix(name: str, options: dict[str, Any], fix: str) -> None:
    with pytest.raises(TaskDefinitionError, match=fix):
        TaskApp("media").queue(name, **options)


def test_a_queue_is_declared_once_and_a_task_names_a_valid_queue() -> None:
    app = TaskApp("media")
    app.queue("long", consumer="worker")
    with pytest.raises(TaskDefinitionError, match="declared twice"):
        app.queue("long")
    with pytest.raises(TaskDefinitionError, match="invalid queue name 'Long Queue'"):
        _task(app, "video.transcode", queue="Long Queue")


def test_settings_route_each_queue_to_its_url() -> None:
    settings = Settings.from_env(
        {
            "TASKWORKER_QUEUE_URL": "https://sqs/default",
            "TASKWORKER_QUEUE_URLS": '{"long": "https://sqs/long"}',
            "TASKWORKER_QUEUE": "long",
        }
    )
    assert settings.url_of("long") == "https://sqs/long"
    assert settings.url_of("default") == "https://sqs/default"
    assert settings.queue == "long"
    with pytest.raises(ValueError, match=r"TASKWORKER_QUEUE_URLS.*JSON object"):
        Settings.from_env({"TASKWORKER_QUEUE_URLS": '["https://sqs/long"]'})

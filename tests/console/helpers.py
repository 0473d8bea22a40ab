"""The console on a fresh moto stack, driven through starlette's TestClient."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from starlette.testclient import TestClient

from taskworker import PermanentError, TaskApp
from taskworker.aws import Clients
from taskworker.background_server import BackgroundServer
from taskworker.console import ConsoleConfig, create_app
from taskworker.dev.event_source import LambdaEventSource
from taskworker.dev.resources import DevResources, Queues, provision_queues
from taskworker.settings import Settings
from tests.integration.moto_stack import Stack


class Account(BaseModel):
    account: str


def console(stack: Stack, settings: Settings | None = None, **config: Any) -> TestClient:
    """A console for the stack (no sampler thread: pages sample on demand)."""
    config = {"settings": settings or stack.settings(), **config}
    app = create_app(ConsoleConfig(**config), sqs=stack.sqs, dynamodb=stack.dynamodb)
    return TestClient(app, base_url="http://127.0.0.1:8001")


def failing_app(stack: Stack) -> TaskApp:
    app = stack.app("console")

    @app.task("acct.close")
    def close(req: Account) -> None:
        raise PermanentError(f"account {req.account} is closed")

    return app


def dead_letter(stack: Stack, account: str) -> str:
    """A task that failed for good through the real path; returns its task id."""
    task_id = stack.send("acct.close", {"account": account})
    stack.deliver(failing_app(stack), expect=1)
    return task_id


@dataclass(frozen=True)
class TwoQueues:
    """The stack's queue as the app's ``default`` queue, and a second queue, ``long``, with
    its own DLQ (found by its RedrivePolicy), as ``taskworker dev`` provisions them."""

    stack: Stack
    long: Queues

    def settings(self) -> Settings:
        """The console's settings: the default queue's URL and DLQ, every queue's URL."""
        return self.stack.settings(queue_urls={"default": self.stack.queue_url, "long": self.long.queue_url})

    def console(self, settings: Settings | None = None, **config: Any) -> TestClient:
        return console(self.stack, settings=settings or self.settings(), **config)

    def dead_letter_long(self, account: str) -> str:
        """A task of queue ``long`` that failed for good there, through the real path
        (its consumer's settings, Lambda's event source); returns its task id."""
        stack, long = self.stack, self.long
        settings = self.settings().merged(queue="long", queue_url=long.queue_url, dlq_url=long.dlq_url)
        clients = Clients(sqs=stack.sqs, sns=stack.sns, dynamodb=stack.dynamodb)
        app = TaskApp("console-long", settings=settings, clients=clients)
        app.queue("long")

        @app.task("acct.purge", queue="long")
        def purge(req: Account) -> None:
            raise PermanentError(f"account {req.account} cannot be purged")

        sent = stack.sqs.send_message(
            QueueUrl=long.queue_url,
            MessageBody=json.dumps({"account": account}),
            MessageAttributes={"task_type": {"DataType": "String", "StringValue": "acct.purge"}},
        )
        source = LambdaEventSource(stack.sqs, long.queue_url, app.lambda_handler, queue_arn=long.queue_arn)
        source.invoke(stack.receive(long.queue_url))
        return str(sent["MessageId"])


def two_queues(stack: Stack) -> TwoQueues:
    prefix = stack.queue_url.rsplit("/", 1)[-1]
    return TwoQueues(stack, provision_queues(DevResources(prefix=f"{prefix}-long"), stack.sqs))


def row(page: str, task_id: str) -> str:
    """The table row of ``task_id`` (``data-task-id``) as HTML."""
    match = re.search(rf'<tr data-task-id="{re.escape(task_id)}">(.*?)</tr>', page, re.S)
    assert match, f"no row for {task_id}"
    return match.group(1)


def depth_cells(page: str, queue: str) -> tuple[int, int, int]:
    match = re.search(rf'<tr data-queue="{queue}">(.*?)</tr>', page, re.S)
    assert match, f"no row for {queue}"
    cells = {
        name: int(re.search(rf'class="num {name}">(\d+)<', match.group(1)).group(1))  # type: ignore[union-attr]
        for name in ("visible", "in-flight", "delayed")
    }
    return cells["visible"], cells["in-flight"], cells["delayed"]


def csrf(client: TestClient) -> str:
    token: str = client.app.state.console.config.csrf_token  # type: ignore[attr-defined]
    return token


@contextmanager
def served_console(
    settings: Settings, *, sqs: Any = None, dynamodb: Any = None, **config: Any
) -> Iterator[str]:
    """A console served over HTTP on a free loopback port (with its sampler thread); its URL."""
    server = BackgroundServer(
        create_app(ConsoleConfig(settings, **config), sqs=sqs, dynamodb=dynamodb), "127.0.0.1", 0
    )
    server.start()
    try:
        yield server.url
    finally:
        server.stop()

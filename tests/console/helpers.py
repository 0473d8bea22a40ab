"""The console on a fresh moto stack, driven through starlette's TestClient."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel
from starlette.testclient import TestClient

from taskworker import PermanentError, TaskApp
from taskworker.background_server import BackgroundServer
from taskworker.console import ConsoleConfig, create_app
from taskworker.settings import Settings
from tests.integration.moto_stack import Stack


class Account(BaseModel):
    account: str


def console(stack: Stack, **config: Any) -> TestClient:
    """A console for the stack (no sampler thread: pages sample on demand)."""
    app = create_app(ConsoleConfig(stack.settings(), **config), sqs=stack.sqs, dynamodb=stack.dynamodb)
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

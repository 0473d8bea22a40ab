"""The pytest plugin (entry point ``pytest11``) offers the testing kit as fixtures."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from taskworker import TaskApp


class Ping(BaseModel):
    n: int


def test_fixtures_build_lambda_shaped_events_and_a_counting_down_context(
    sqs_event: Any, sqs_record: Any, lambda_context: Any, no_network: list[str]
) -> None:
    app = TaskApp("plugin")

    @app.task("ping")
    def ping(req: Ping) -> None:
        if req.n < 0:
            raise ValueError("negative")

    good, bad = sqs_record({"n": 1}, task_type="ping"), sqs_record({"n": -1}, task_type="ping")
    context = lambda_context(timeout_ms=5_000)
    assert 0 < context.get_remaining_time_in_millis() <= 5_000
    response = app.testing.lambda_handler(sqs_event([good, bad]), context)
    assert response == {"batchItemFailures": [{"itemIdentifier": bad["messageId"]}]}


def test_a_swallowed_connection_attempt_is_still_reported() -> None:
    """Best-effort code swallows the refusal, so the block records every attempt."""
    import contextlib
    import socket

    from taskworker.testing import sockets_blocked

    with sockets_blocked() as attempts, contextlib.suppress(Exception):
        socket.create_connection(("127.0.0.1", 9), timeout=1)
    assert attempts == ["'127.0.0.1'"]
    socket.socket().close()  # restored afterwards

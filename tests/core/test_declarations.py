"""What a task declaration promises holds, or it is refused when the module is imported."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from taskworker import Retry, TaskApp, TaskContext
from taskworker.errors import TaskDefinitionError


class In(BaseModel):
    n: int


def test_a_bare_decorator_registers_the_task_under_its_function_name() -> None:
    app = TaskApp("bare")

    @app.task
    def Send_Email(item: In) -> None:  # noqa: N802 - the name is lowercased
        pass

    assert list(app.registry) == ["send_email"]
    assert Send_Email(In(n=1)) is None  # still the function itself


def test_empty_parentheses_derive_the_name_too() -> None:
    app = TaskApp("parens")

    @app.task()
    def resize(item: In) -> None:
        pass

    assert "resize" in app.registry


@pytest.mark.parametrize(
    ("options", "fix"),
    [
        ({"retry": 3}, r"retry=3 is not a Retry policy; write e.g. retry=Retry\(attempts=3\)"),
        ({"timeout": "10"}, r"timeout='10' must be a positive number of seconds"),
        ({"timeout": True}, r"timeout=True must be a positive number"),
        ({"timeout": 0}, r"timeout=0 must be a positive number"),
        ({"idempotent": "yes"}, r"idempotent='yes' must be True or False"),
        ({"message_group": 7}, r"message_group=7 must be a string"),
    ],
)
def test_options_of_the_wrong_type_are_refused_with_the_fix(options: dict[str, Any], fix: str) -> None:
    app = TaskApp("options")
    with pytest.raises(TaskDefinitionError, match=fix):

        @app.task("t.run", **options)
        def run(item: In) -> None:
            pass


def test_a_keyword_only_payload_is_refused() -> None:
    app = TaskApp("kwonly")
    with pytest.raises(TaskDefinitionError, match=r"payload parameter 'item' must be positional.*'\*'"):

        @app.task("t.run")
        def run(*, item: In) -> None:
            pass


def test_a_context_of_another_type_is_refused_with_the_fix() -> None:
    app = TaskApp("ctx")
    with pytest.raises(TaskDefinitionError, match=r"'ctx' is annotated <class 'int'>.*'ctx: TaskContext'"):

        @app.task("t.run")
        def run(item: In, ctx: int) -> None:
            pass


def test_a_keyword_only_context_is_refused() -> None:
    app = TaskApp("ctxkw")
    with pytest.raises(TaskDefinitionError, match=r"context parameter 'ctx' must be positional"):

        @app.task("t.run")
        def run(item: In, *, ctx: TaskContext) -> None:
            pass


def test_a_valid_retry_policy_is_kept() -> None:
    app = TaskApp("ok")

    @app.task("t.run", retry=Retry(attempts=3), timeout=1.5)
    def run(item: In) -> None:
        pass

    assert app.registry["t.run"].retry.attempts == 3
    assert app.registry["t.run"].timeout == 1.5


@pytest.mark.parametrize("delay", [-1, 901, 1.5, "10", True])
def test_the_producer_refuses_a_delay_outside_sqs_range_even_without_the_app(delay: Any) -> None:
    from taskworker.client import TaskClient
    from taskworker.errors import TaskworkerError
    from taskworker.testing import FakeSQS

    sqs = FakeSQS()
    url = sqs.create_queue(QueueName="delays")["QueueUrl"]
    client = TaskClient(url, sqs=sqs)
    with pytest.raises(TaskworkerError, match=r"delay_seconds=.*from 0 to 900"):
        client.submit("any.task", {"n": 1}, delay_seconds=delay)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)

"""``app.testing``: run one task through the real dispatch path, with no AWS."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from taskworker.context import Deadline
from taskworker.dispatch import Dispatcher
from taskworker.messages import TaskMessage
from taskworker.middleware import InProcessRetries
from taskworker.outcomes import Outcome
from taskworker.settings import Settings
from taskworker.testing.events import sqs_record

if TYPE_CHECKING:
    from taskworker.app import TaskApp


class TaskTester:
    """Runs tasks of ``app`` in-process: routing, validation, middleware and outcome
    classification are the production ones; AWS-backed features stay off."""

    def __init__(self, app: TaskApp, *, settings: Settings | None = None) -> None:
        self.app = app
        self.dispatcher = Dispatcher(
            app.registry,
            settings or Settings(),
            [*app.user_middleware, InProcessRetries()],
            app.logger,
        )

    def run(
        self,
        task_type: str,
        payload: Any = None,
        *,
        body: str | None = None,
        attempt: int = 1,
        idempotency_key: str | None = None,
        max_receives: int | None = None,
        deadline: Deadline | None = None,
    ) -> Outcome:
        """The outcome of one message carrying ``payload`` (or the raw ``body``)."""
        record = sqs_record(
            payload,
            task_type=task_type,
            body=body,
            receive_count=attempt,
            idempotency_key=idempotency_key,
        )
        message = TaskMessage.from_lambda_record(record)
        return self.dispatcher.dispatch(message, deadline, max_receives=max_receives).outcome

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
    from taskworker.middleware.idempotency import IdempotencyStore


class TaskTester:
    """Runs tasks of ``app`` in-process: routing, validation, middleware and outcome
    classification are the production ones; AWS-backed features stay off.

    Pass ``idempotency=InMemoryPersistenceLayer()`` (from :mod:`taskworker.testing`) to
    run idempotency exactly as in production, against records kept in memory: a second
    run with the same ``idempotency_key`` (or ``message_id``) returns the stored result as
    ``Succeeded(..., duplicate=True)`` without calling the handler.
    """

    def __init__(
        self,
        app: TaskApp,
        *,
        settings: Settings | None = None,
        idempotency: IdempotencyStore | None = None,
    ) -> None:
        self.app = app
        middleware = [*app.user_middleware]
        if idempotency is not None:
            from taskworker.middleware.idempotency import Idempotency

            middleware.append(Idempotency(idempotency))
        self.dispatcher = Dispatcher(
            app.registry,
            settings or Settings(),
            [*middleware, InProcessRetries()],
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
        message_id: str | None = None,
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
            message_id=message_id,
        )
        message = TaskMessage.from_lambda_record(record)
        return self.dispatcher.dispatch(message, deadline, max_receives=max_receives).outcome

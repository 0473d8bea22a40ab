"""``app.testing``: run tasks, and the Lambda entry point, through the real paths, offline.

The tester drives a twin of the app: the same registry and middleware, but its own
settings (every AWS-backed feature off unless the test turns it on) and its own clients (an
in-memory :class:`~taskworker.testing.FakeSQS`, and SNS/DynamoDB stand-ins that refuse to
be used). So nothing a test runs through it can reach AWS, or open a socket, unless the
test hands it a client that does.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Generic, TypedDict, TypeVar, Unpack, cast, overload

from taskworker.aws import Clients
from taskworker.context import Deadline
from taskworker.errors import TaskworkerError
from taskworker.messages import TaskMessage
from taskworker.middleware.base import Middleware
from taskworker.outcomes import ErrorInfo, Outcome, Succeeded
from taskworker.settings import Settings
from taskworker.testing.events import sqs_record
from taskworker.testing.fake_scheduler import FakeScheduler
from taskworker.testing.fake_sqs import FakeSQS
from taskworker.testing.lambda_context import lambda_context

if TYPE_CHECKING:
    from taskworker.app import TaskApp
    from taskworker.context import TaskCall
    from taskworker.middleware.followups import SubmittedTask
    from taskworker.middleware.idempotency import IdempotencyStore
    from taskworker.outcomes import Outcome as _Outcome
    from taskworker.registry import TaskDefinition

T = TypeVar("T")


class RunOptions(TypedDict, total=False):
    """How the message of one run looks: the raw ``body`` instead of the payload, its
    ``attempt`` (receive count, 1 by default), keys, the ``caller`` the API named (keys are
    scoped by it) and id, and the runtime's limits."""

    body: str | None
    attempt: int
    idempotency_key: str | None
    caller: str | None
    message_id: str | None
    max_receives: int | None
    deadline: Deadline | None


class TaskRunFailedError(AssertionError):
    """``TaskRun.output`` of a run that did not succeed; the message carries the outcome."""


@dataclass(frozen=True, slots=True)
class TaskRun(Generic[T]):
    """What one in-process run produced: the outcome, and the output typed as the task's.

    ``run(generate, ...)`` (the handler itself) gives ``TaskRun[ReportResult]``, so
    ``.output`` is typed for the editor and mypy; ``run("report.generate", ...)`` gives
    ``TaskRun[Any]``.
    """

    outcome: Outcome
    submitted: tuple[SubmittedTask, ...] = ()
    """The follow-ups the handler submitted (``ctx.submit``), in order; offline they were
    sent to the tester's FakeSQS (or its FakeScheduler, beyond 15 minutes)."""

    @property
    def succeeded(self) -> bool:
        return isinstance(self.outcome, Succeeded)

    @property
    def output(self) -> T:
        """The handler's output model; raises :class:`TaskRunFailedError` if the run failed."""
        if not isinstance(self.outcome, Succeeded):
            raise TaskRunFailedError(f"the task did not succeed: {self.outcome!r}")
        return cast(T, self.outcome.result)

    @property
    def error(self) -> ErrorInfo | None:
        """The failure's type and message, ``None`` when the run succeeded."""
        return None if isinstance(self.outcome, Succeeded) else self.outcome.error


class Unconfigured:
    """Stands in for an AWS client the test did not give: any use is a clear error, never a
    call to AWS (so a feature switched on by mistake fails the test instead of the network)."""

    def __init__(self, service: str) -> None:
        self._service = service

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # copy, pickle and friends probe for these
            raise AttributeError(name)
        raise TaskworkerError(
            f"the testing kit has no {self._service} endpoint (called {name}); pass "
            f"TaskTester(app, clients=Clients({self._service}=...)) with a client of your own"
        )


def offline_clients(sqs: Any = None) -> Clients:
    """A FakeSQS (or ``sqs``), a FakeScheduler and refusing stand-ins for SNS and DynamoDB."""
    return Clients(
        sqs=sqs or FakeSQS(),
        sns=Unconfigured("sns"),
        dynamodb=Unconfigured("dynamodb"),
        scheduler=FakeScheduler(),
    )


FOLLOW_UP_QUEUE = "taskworker-testing-tasks"
"""The FakeSQS queue follow-ups go to when the test's settings name no queue."""
TEST_SCHEDULER_ROLE = "arn:aws:iam::123456789012:role/taskworker-testing-scheduler"
TEST_SCHEDULE_GROUP = "taskworker-testing"


class _RecordFollowUps(Middleware):
    """Keeps what each run submitted for its :class:`TaskRun`."""

    def __init__(self) -> None:
        self.last: tuple[SubmittedTask, ...] = ()

    def applies_to(self, task: TaskDefinition) -> bool:
        return task.takes_context

    def after_task(self, call: TaskCall, outcome: _Outcome) -> None:
        self.last = () if call.follow_ups is None else tuple(call.follow_ups.sent)


class TaskTester:
    """Runs tasks of ``app`` in-process: routing, validation, middleware and outcome
    classification are the production ones; AWS-backed features stay off.

    Pass ``idempotency=InMemoryPersistenceLayer()`` (from :mod:`taskworker.testing`) to
    run idempotency exactly as in production, against records kept in memory: a second
    run with the same ``idempotency_key`` (or ``message_id``) returns the stored result as
    ``Succeeded(..., duplicate=True)`` without calling the handler. ``settings`` and
    ``clients`` switch features on against clients the test provides (moto, a fake).
    """

    def __init__(
        self,
        app: TaskApp,
        *,
        settings: Settings | None = None,
        clients: Clients | None = None,
        idempotency: IdempotencyStore | None = None,
    ) -> None:
        from taskworker.app import TaskApp

        self.app = app
        self.clients = clients or offline_clients()
        self._recorder = _RecordFollowUps()
        self._twin = TaskApp(
            app.name,
            settings=settings or Settings(),
            middleware=[*_middleware(app, idempotency), self._recorder],
            clients=self.clients,
            logger=app.logger,
        )
        self._twin.registry = app.registry
        self._twin.producer = self._producer()

    def _producer(self) -> Any:
        """Follow-ups go through a real TaskClient: to the settings' queue, or offline to a
        FakeSQS queue, with a FakeScheduler for those more than 15 minutes ahead."""
        from taskworker.client import TaskClient

        settings = self._twin.settings
        if not settings.queue_url and isinstance(self.clients.sqs, FakeSQS):
            url = self.clients.sqs.create_queue(QueueName=FOLLOW_UP_QUEUE)["QueueUrl"]
            settings = replace(settings, queue_url=url)
        if not settings.schedule_group:
            settings = replace(
                settings, scheduler_role_arn=TEST_SCHEDULER_ROLE, schedule_group=TEST_SCHEDULE_GROUP
            )
        return TaskClient(app=self._twin, settings=settings)

    @property
    def scheduler(self) -> Any:
        """The Scheduler client follow-ups use (a :class:`FakeScheduler` by default)."""
        return self.clients.scheduler

    @property
    def sqs(self) -> Any:
        """The SQS client the twin uses (a :class:`FakeSQS` unless ``clients`` said otherwise)."""
        return self.clients.sqs

    @overload
    def run(
        self, task: Callable[..., Coroutine[Any, Any, T]], payload: Any = ..., **options: Unpack[RunOptions]
    ) -> TaskRun[T]: ...

    @overload
    def run(
        self, task: Callable[..., T], payload: Any = ..., **options: Unpack[RunOptions]
    ) -> TaskRun[T]: ...

    @overload
    def run(self, task: str, payload: Any = ..., **options: Unpack[RunOptions]) -> TaskRun[Any]: ...

    def run(
        self, task: str | Callable[..., Any], payload: Any = None, **options: Unpack[RunOptions]
    ) -> TaskRun[Any]:
        """Run one message carrying ``payload`` (or the raw ``body``) for ``task``: its
        name, or the decorated handler itself (then ``.output`` is typed)."""
        record = sqs_record(
            payload,
            task_type=task if isinstance(task, str) else self._task_name(task),
            body=options.get("body"),
            receive_count=options.get("attempt", 1),
            idempotency_key=options.get("idempotency_key"),
            message_id=options.get("message_id"),
            caller=options.get("caller"),
        )
        message = TaskMessage.from_lambda_record(record)
        self._recorder.last = ()
        result = self._twin.dispatcher.dispatch(
            message, options.get("deadline"), max_receives=options.get("max_receives")
        )
        return TaskRun(result.outcome, self._recorder.last)

    def lambda_handler(self, event: Any, context: Any = None) -> dict[str, Any]:
        """``app.lambda_handler`` on the twin: the Lambda runtime, its visibility changes and
        batch item failures included, against the tester's clients. The default context
        has Lambda's longest timeout (900 s), so any task that fits Lambda can start."""
        return self._twin.lambda_handler(event, context or lambda_context())

    def _task_name(self, func: Callable[..., Any]) -> str:
        for name, definition in self.app.registry.items():
            if definition.func is func:
                return name
        raise TaskworkerError(f"{getattr(func, '__qualname__', func)!r} is not a task of {self.app.name!r}")


def _middleware(app: TaskApp, idempotency: IdempotencyStore | None) -> list[Middleware]:
    middleware = app.user_middleware
    if idempotency is not None:
        from taskworker.middleware.idempotency import Idempotency

        middleware.append(Idempotency(idempotency))
    return middleware

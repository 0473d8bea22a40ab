"""TaskApp: the registry, the settings and the entry points of one application."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

from taskworker.aws import Clients
from taskworker.dispatch import Dispatcher
from taskworker.errors import AppLoadError, TaskDefinitionError
from taskworker.log import LazyLogger, SupportsLogging
from taskworker.middleware import InProcessRetries, Middleware
from taskworker.middleware.followups import FollowUps
from taskworker.outcomes import TaskResult
from taskworker.queues import (
    DEFAULT_QUEUE,
    IMPLICIT_DEFAULT,
    Consumer,
    QueueSpec,
    check_all_declared,
    check_task_fits,
    declare_queue,
)
from taskworker.registry import Registry, TaskDefinition, derived_name
from taskworker.retry import Retry
from taskworker.schedules import ScheduleSpec, check_schedule, declare_schedule
from taskworker.settings import Settings

if TYPE_CHECKING:
    from taskworker.client import TaskClient
    from taskworker.handlers.lambda_sqs import LambdaSqsRuntime
    from taskworker.settlement import Settlement
    from taskworker.status import StatusTable, TaskStatus
    from taskworker.testing.tester import TaskTester

F = TypeVar("F", bound=Callable[..., Any])


class TaskApp:
    """A set of tasks and how to run them.

    Declare tasks with :meth:`task`; run them with :attr:`lambda_handler` (an SQS event
    source) or the container worker. Settings come from ``TASKWORKER_*`` environment
    variables unless given; AWS clients are created on first use unless injected.
    """

    def __init__(
        self,
        name: str,
        *,
        settings: Settings | None = None,
        middleware: Sequence[Middleware] = (),
        clients: Clients | None = None,
        logger: SupportsLogging | None = None,
    ) -> None:
        self.name = name
        self.registry = Registry()
        self.clients = clients or Clients()
        self.logger: SupportsLogging = logger or LazyLogger(name)
        self._settings = settings
        self._middleware = list(middleware)
        self._dispatcher: Dispatcher | None = None
        self._lambda_runtime: LambdaSqsRuntime | None = None
        self._queues: dict[str, QueueSpec] = {DEFAULT_QUEUE: IMPLICIT_DEFAULT}
        self._schedules: dict[str, ScheduleSpec] = {}
        self.producer: TaskClient | None = None
        """The client follow-ups (``ctx.submit``) are sent with; built on first use."""

    def __repr__(self) -> str:
        return f"TaskApp({self.name!r}, tasks={sorted(self.registry)})"

    def configure(self, *, settings: Settings | None = None, clients: Clients | None = None) -> None:
        """Replace the settings or the AWS clients of an app declared at module level.

        Runtimes built so far are dropped, so the next message uses the new configuration
        (the CLI, the dev stack and tests use this; Lambda reads the environment).
        """
        if settings is not None:
            self._settings = settings
        if clients is not None:
            self.clients = clients
        self.producer = None
        self._dispatcher = None
        self._lambda_runtime = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.from_env()
        return self._settings

    @overload
    def task(self, name: F, /) -> F: ...

    @overload
    def task(
        self,
        name: str | None = None,
        *,
        retry: Retry | None = None,
        timeout: float | None = None,
        idempotent: bool = True,
        message_group: str | None = None,
        queue: str = DEFAULT_QUEUE,
    ) -> Callable[[F], F]: ...

    def task(
        self,
        name: str | F | None = None,
        *,
        retry: Retry | None = None,
        timeout: float | None = None,
        idempotent: bool = True,
        message_group: str | None = None,
        queue: str = DEFAULT_QUEUE,
    ) -> F | Callable[[F], F]:
        """Register the decorated function as the handler of task type ``name``.

        ``@app.task`` without parentheses (or without a name) names the task after the
        function, lowercased: ``def send_email`` becomes ``"send_email"``. The function is
        returned unchanged, so it stays directly callable in tests. ``queue`` names the
        queue it travels on (see :meth:`queue`).
        """
        if callable(name):
            return self.task(derived_name(name))(name)

        def register(func: F) -> F:
            self.registry.register(
                derived_name(func) if name is None else name,
                func,
                retry=retry,
                timeout=timeout,
                idempotent=idempotent,
                message_group=message_group,
                queue=queue,
                accept=self._check_fits,
            )
            self._dispatcher = self._lambda_runtime = None  # rebuilt with the new task on next use
            return func

        return register

    def queue(
        self,
        name: str,
        *,
        consumer: Consumer = "lambda",
        fifo: bool | None = None,
        max_receive_count: int | None = None,
        batch_size: int | None = None,
        max_concurrency: int | None = None,
        concurrency: int | None = None,
        max_workers: int | None = None,
    ) -> QueueSpec:
        """Declare the queue ``name`` and the consumer that drains it.

        ``consumer="lambda"`` (an SQS event source; ``batch_size``, ``max_concurrency``) or
        ``"worker"`` (the container worker; ``concurrency`` tasks per container, at most
        ``max_workers`` containers). ``fifo=True`` or a name ending in ``.fifo`` makes it
        FIFO. ``max_receive_count`` is the receives before its DLQ. Declarations may come
        before or after the tasks that use them; every pair is checked as soon as both exist.
        """
        if self._queues.get(name, IMPLICIT_DEFAULT).declared:
            raise TaskDefinitionError(f"app.queue({name!r}) is declared twice; declare each queue once")
        spec = declare_queue(
            name,
            consumer=consumer,
            fifo=fifo,
            max_receive_count=max_receive_count,
            batch_size=batch_size,
            max_concurrency=max_concurrency,
            concurrency=concurrency,
            max_workers=max_workers,
        )
        for task in self.tasks_on(name):
            check_task_fits(task, spec)
        self._queues[name] = spec
        return spec

    def _check_fits(self, task: TaskDefinition) -> None:
        if task.queue in self._queues:
            check_task_fits(task, self._queues[task.queue])

    @property
    def queues(self) -> dict[str, QueueSpec]:
        """Every queue by name, the default queue first (implicit until declared)."""
        return dict(self._queues)

    def queue_of(self, task_type: str) -> QueueSpec:
        """The queue that carries ``task_type`` (the default queue for unknown types, where
        they are retried and dead-lettered like any message the app cannot run)."""
        task = self.registry.lookup(task_type)
        return self._queues.get(task.queue if task else DEFAULT_QUEUE, IMPLICIT_DEFAULT)

    def schedule(
        self, name: str, expression: str, task_type: str, payload: Any, *, timezone: str = "UTC"
    ) -> ScheduleSpec:
        """Run ``task_type`` with ``payload`` on ``expression`` (``rate(...)``, six-field
        ``cron(...)`` or ``at(...)``, in ``timezone``); see :mod:`taskworker.schedules`.

        Deployed by ``infra/`` as an EventBridge Scheduler schedule, fired by ``taskworker
        dev`` locally. The expression, the timezone and (once the task is declared, before
        or after this) the payload against the task's model are checked at import time.
        """
        if name in self._schedules:
            raise TaskDefinitionError(
                f"app.schedule({name!r}) is declared twice; give each schedule its own name"
            )
        spec = declare_schedule(name, expression, task_type, payload, timezone)
        task = self.registry.get(task_type)
        if task is not None:
            check_schedule(spec, task)
        self._schedules[name] = spec
        return spec

    @property
    def schedules(self) -> dict[str, ScheduleSpec]:
        """Every ``app.schedule`` declaration by name, in declaration order."""
        return dict(self._schedules)

    def tasks_on(self, queue: str) -> list[TaskDefinition]:
        """The tasks that travel on ``queue``, by name."""
        return [task for _, task in sorted(self.registry.items()) if task.queue == queue]

    def check(self) -> None:
        """Check the declarations as a whole: every task's queue is declared, every
        schedule's task exists and its payload fits.

        Each task and queue is checked when declared; only a queue named by a task but never
        declared can be seen no sooner than the whole module. :func:`load_app`, the
        runtimes, the client and ``infra/`` call this, so the mistake stops them at start.
        """
        check_all_declared(self.registry.values(), self._queues)
        for spec in self._schedules.values():
            check_schedule(spec, self.registry.get(spec.task_type))

    @property
    def dispatcher(self) -> Dispatcher:
        if self._dispatcher is None:
            self.check()
            self._dispatcher = Dispatcher(self.registry, self.settings, self.middleware(), self.logger)
        return self._dispatcher

    @property
    def user_middleware(self) -> list[Middleware]:
        """The middleware given to the constructor, outermost first."""
        return list(self._middleware)

    def middleware(self) -> list[Middleware]:
        """The middleware stack, outermost first: forwarding and dead-lettering (batch hooks
        only), the user's, then the built-in ones (follow-ups first: ``ctx.submit``).

        Each feature is on when its setting is: result events, task status, metrics (in
        that order, so ``after_batch`` publishes first and status and metrics report what
        publishing decided), then idempotency around in-process retries (innermost).
        """
        follow_ups = FollowUps(self._producer)
        return [
            *self._forwarding(),
            *self._dead_lettering(),
            *self._middleware,
            follow_ups,
            *self.feature_middleware(),
            InProcessRetries(),
        ]

    def _forwarding(self) -> list[Middleware]:
        """On a consumer that knows its queue: tasks of other queues are sent to theirs,
        first in the ``after_batch`` chain, before any could be dead-lettered here."""
        settings = self.settings
        if settings.queue is None:
            return []
        from taskworker.middleware.forwarding import Forwarding

        others = {
            name: url
            for name, url in (settings.queue_urls or {}).items()
            if name != settings.queue and url != settings.queue_url  # never back to itself
        }
        clients = self.clients
        return [Forwarding(others, lambda: clients.sqs, self.logger)]

    def _producer(self) -> TaskClient:
        if self.producer is None:
            self.producer = self.client()
        return self.producer

    def _dead_lettering(self) -> list[Middleware]:
        """Dead-lettering, first in the ``after_batch`` chain (without a DLQ: nothing)."""
        if not self.settings.dlq_url:
            return []
        from taskworker.middleware.deadletter import DeadLettering, DeadLetterQueue

        url, clients = self.settings.dlq_url, self.clients
        return [DeadLettering(DeadLetterQueue(url, lambda: clients.sqs))]

    def feature_middleware(self) -> list[Middleware]:
        """The settings-driven middleware; creating it creates no AWS client."""
        settings, clients = self.settings, self.clients
        items: list[Middleware] = []
        if settings.result_topic_arn:
            from taskworker.middleware.results import ResultEvents

            items.append(
                ResultEvents(
                    settings.result_topic_arn,
                    lambda: clients.sns,
                    logger=self.logger,
                    requeue_delay=settings.backoff_base_seconds,
                )
            )
        if settings.status_table:
            from taskworker.middleware.status import TaskStatusMiddleware

            items.append(
                TaskStatusMiddleware(
                    self._status_table,
                    ttl_seconds=settings.status_ttl_seconds,
                    logger=self.logger,
                    requeue_delay=settings.backoff_base_seconds,
                )
            )
        if settings.metrics_namespace:
            from taskworker.middleware.metrics import TaskMetrics

            items.append(TaskMetrics(settings.metrics_namespace))
        if settings.idempotency_table:
            from taskworker.middleware.idempotency import Idempotency

            items.append(
                Idempotency.dynamodb(
                    settings.idempotency_table,
                    lambda: clients.dynamodb,
                    expires_after_seconds=settings.idempotency_expires_seconds,
                )
            )
        return items

    def get_status(self, task_id: str) -> TaskStatus | None:
        """The status of ``task_id`` from the status table, or ``None`` if it has none."""
        return self._status_table().get(task_id)

    def _status_table(self) -> StatusTable:
        from taskworker.status import status_table

        return status_table(self.settings.status_table, self.clients.dynamodb)

    def finish_batch(self, results: Sequence[TaskResult]) -> list[Settlement]:
        """Run the ``after_batch`` chain (dead-lettering first, then events, status,
        metrics) and return each message's :class:`~taskworker.settlement.Settlement`.

        Every runtime calls this once per batch before it deletes or returns messages, and
        applies exactly what it returns, so the order and the rules are the same everywhere.
        """
        return self.dispatcher.finish_batch(results)

    def lambda_handler(self, event: Any, context: Any) -> dict[str, Any]:
        """Entry point for an SQS event source with ``ReportBatchItemFailures``."""
        if self._lambda_runtime is None:
            from taskworker.handlers.lambda_sqs import LambdaSqsRuntime
            from taskworker.handlers.visibility import QueueVisibility

            self._lambda_runtime = LambdaSqsRuntime(self.dispatcher, self.clients, QueueVisibility(self))
        return self._lambda_runtime.handle(event, context)

    def run_worker(self, *, queue: str | None = None, queue_url: str | None = None, **options: Any) -> int:
        """Run the container worker here until SIGTERM; ``options`` are ``WorkerOptions`` fields.

        ``queue`` names the queue it drains (see :func:`taskworker.handlers.worker.queue_settings`).
        """
        from taskworker.handlers.worker import WorkerOptions, run_worker

        return run_worker(self, WorkerOptions(**options), queue=queue, queue_url=queue_url)

    def client(self, *, queue_url: str | None = None) -> TaskClient:
        """A producer for this app's queue that validates payloads before sending."""
        from taskworker.client import TaskClient

        self.check()
        return TaskClient(queue_url, app=self)

    @property
    def testing(self) -> TaskTester:
        """Run tasks in-process with no AWS: ``app.testing.run("report.generate", {...})``."""
        from taskworker.testing.tester import TaskTester

        return TaskTester(self)

    def schemas(self) -> dict[str, dict[str, Any]]:
        """Every task's input and output JSON Schema, keyed by task name."""
        return self.registry.schemas()


def load_app(path: str) -> TaskApp:
    """Import ``"package.module:attribute"`` and check that it is a :class:`TaskApp`."""
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise AppLoadError(f"{path!r}: expected 'module:attribute', e.g. 'examples.reports:app'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise AppLoadError(f"{path!r}: cannot import module {module_name!r} ({exc})") from exc
    app = getattr(module, attribute, None)
    if not isinstance(app, TaskApp):
        found = "nothing" if app is None else type(app).__name__
        raise AppLoadError(f"{path!r}: {module_name}.{attribute} is {found}, not a TaskApp")
    app.check()
    return app

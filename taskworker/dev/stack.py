"""DevStack: the embedded endpoint, the resources, the API, the consumer and the results
log, started together and stopped together."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from taskworker.app import TaskApp
from taskworker.aws import Clients
from taskworker.dev.api import LocalApi
from taskworker.dev.endpoint import EmbeddedEndpoint, aws_environment
from taskworker.dev.event_source import EventSourceConfig, LambdaEventSource
from taskworker.dev.ports import LOCALHOST
from taskworker.dev.resources import (
    MAX_RECEIVE_COUNT,
    DevResources,
    Provisioned,
    consumer_timeout,
    prefix_for,
    provision,
    visibility_for,
)
from taskworker.dev.results_log import ResultsLog
from taskworker.queues import DEFAULT_QUEUE, QueueSpec
from taskworker.status import StatusTable

Runtime = Literal["lambda", "worker"]
MAX_EVENT_BATCH = 10
"""The emulated event source receives one batch per poll (SQS's limit: ten)."""


@dataclass
class DevStackConfig:
    port: int = 8000
    aws_port: int = 0
    runtime: Runtime = "lambda"
    endpoint_url: str | None = None
    """Use an endpoint the user already runs (LocalStack, ...) instead of the embedded one."""
    event_source: EventSourceConfig = field(default_factory=EventSourceConfig)
    worker_concurrency: int = 4
    prefix: str | None = None
    """Resource names start with it; by default it is derived from the app's name."""
    resources: DevResources | None = None
    """Exact names and shapes, overriding ``prefix`` and the derived visibility timeout."""
    schedules: bool = True
    """Fire the app's ``app.schedule`` declarations locally (``--schedules off``: not)."""


class DevStack:
    """Start with :meth:`start` (or ``with DevStack(app, config) as stack:``)."""

    def __init__(self, app: TaskApp, config: DevStackConfig, printer: Callable[[str], None] = print) -> None:
        self.app = app
        self.config = config
        self.printer = printer
        self.endpoint = EmbeddedEndpoint(config.aws_port)
        self.lanes = {spec.name: Lane.of(app, spec, config) for spec in app.queues.values()}
        """Each of the app's queues and how it is consumed here, the default queue first."""
        default = self.lanes[DEFAULT_QUEUE]
        self.function_timeout = default.function_timeout
        self.resources = config.resources or DevResources(
            prefix=config.prefix or prefix_for(app.name),
            visibility_timeout=visibility_for(self.function_timeout),
            max_receive_count=default.max_receive_count,
            fifo=default.fifo,
        )
        self.endpoint_url = ""
        self.api: LocalApi | None = None
        self.console_url = ""
        self.results: ResultsLog | None = None
        self.provisioned: Provisioned | None = None
        self.consumers: dict[str, Any] = {}
        """The running consumer of each queue (a Lambda event source or a worker), by name."""
        self._exit = contextlib.ExitStack()

    def __enter__(self) -> DevStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        if self.config.endpoint_url:
            self.endpoint_url = self.config.endpoint_url
        else:
            self.endpoint_url = self.endpoint.start()
            self._exit.callback(self.endpoint.stop)
        self._exit.enter_context(aws_environment(self.endpoint_url))
        clients = _clients(self.endpoint_url)
        others = [
            lane.resources(self.resources) for name, lane in self.lanes.items() if name != DEFAULT_QUEUE
        ]
        provisioned = provision(self.resources, clients.sqs, clients.sns, clients.dynamodb, others)
        self.app.configure(settings=provisioned.settings, clients=clients)
        self.provisioned = provisioned
        assert provisioned.settings.queue_url
        self.api = LocalApi(self.app, clients.sqs, provisioned.settings.queue_url, self.config.port)
        self.api.start()
        self._exit.callback(self.api.stop)
        self.console_url = self._start_console(clients)
        self.results = ResultsLog(
            clients.sqs,
            provisioned.results_queue_url,
            self.printer,
            status=StatusTable(self.resources.status_table, clients.dynamodb),
        )
        self.results.start()
        self._exit.callback(self.results.stop)
        for name, lane in self.lanes.items():
            self.consumers[name] = self._start_consumer(lane, self._consumer_app(provisioned, name))
        if self.config.schedules and self.app.schedules:
            from taskworker.dev.schedules import ScheduleFirer

            firer = ScheduleFirer(list(self.app.schedules.values()), self.app.client(), printer=self.printer)
            firer.start()
            self._exit.callback(firer.stop)

    def _consumer_app(self, provisioned: Provisioned, lane: str) -> TaskApp:
        """The app as the consumer of ``lane`` runs it: with that consumer's settings, as
        each deployed consumer has its own environment. An app that declares no queue is
        consumed as before (every task, by the app itself)."""
        if not any(spec.declared for spec in self.app.queues.values()):
            return self.app
        consumer = copy.copy(self.app)  # same registry, queues, middleware and clients
        consumer.configure(settings=provisioned.consumer_settings(lane))
        return consumer

    def _start_consumer(self, lane: Lane, app: TaskApp) -> Any:
        if lane.consumer == "lambda":
            settings = app.settings
            assert settings.queue_url
            source = LambdaEventSource(
                app.clients.sqs,
                settings.queue_url,
                app.lambda_handler,
                lane.event_source,
                function_timeout=lane.function_timeout,
            )
            source.start()
            self._exit.callback(source.stop)
            return source
        from taskworker.dev.worker_runtime import start_worker

        worker = start_worker(app, lane.concurrency)
        self._exit.callback(worker.stop)
        return worker

    def _start_console(self, clients: Clients) -> str:
        """The operator's console on a free loopback port; changes allowed (all local)."""
        from taskworker.background_server import BackgroundServer
        from taskworker.console import ConsoleConfig, create_app

        config = ConsoleConfig(self.app.settings, allow_changes=True)
        server = BackgroundServer(
            create_app(config, sqs=clients.sqs, dynamodb=clients.dynamodb), LOCALHOST, 0
        )
        server.start()
        self._exit.callback(server.stop)
        return server.url

    def stop(self) -> None:
        """Tell every poller to stop first, then wait for each: the waits overlap."""
        for part in (*self.consumers.values(), self.results):
            if part is not None:
                part.request_stop()
        self._exit.close()

    def banner(self) -> str:
        assert self.api is not None
        settings = self.app.settings
        return "\n".join(
            [
                f"taskworker dev: {self.app.name}, runtime {self.config.runtime}, "
                f"resources {self.resources.prefix}-*",
                f"  API           {self.api.url}   POST /tasks/{{task_type}}   GET /tasks/{{task_id}}",
                f"  console       {self.console_url}   queues, tasks, dead letters (changes allowed)",
                f"  AWS endpoint  {self.endpoint_url}   (aws --endpoint-url {self.endpoint_url} ...)",
                *self._queue_lines(),
                f"  result topic  {settings.result_topic_arn}",
                f"  tables        {settings.status_table}, {settings.idempotency_table}",
                f"  tasks         {', '.join(sorted(self.app.registry))}",
            ]
        )

    def _queue_lines(self) -> list[str]:
        """Each queue: its URL, its DLQ and its consumer."""
        assert self.provisioned is not None
        lines: list[str] = []
        for name, lane in self.lanes.items():
            queues, _ = self.provisioned.lanes[name]
            label = "queue" if len(self.lanes) == 1 else f"queue {name}"
            visibility = lane.resources(self.resources).visibility_timeout
            lines += [
                f"  {label:<13} {queues.queue_url}",
                f"  {'DLQ':<13} {queues.dlq_url}",
                f"  {'consumer':<13} {lane.describe()}, visibility timeout {visibility} s (as deployed)",
            ]
        return lines


@dataclass(frozen=True)
class Lane:
    """One of the app's queues as the dev stack runs it: which consumer, with what limits.

    A declared queue asks for its consumer and options; the implicit default queue is
    consumed as ``--runtime`` says, with the command's options, as before queues existed.
    """

    name: str
    consumer: Runtime
    function_timeout: float
    event_source: EventSourceConfig
    concurrency: int
    max_receive_count: int
    fifo: bool

    @classmethod
    def of(cls, app: TaskApp, spec: QueueSpec, config: DevStackConfig) -> Lane:
        source = config.event_source
        if spec.batch_size is not None and spec.batch_size <= MAX_EVENT_BATCH:
            source = replace(source, batch_size=spec.batch_size)
        timeout = source.function_timeout or consumer_timeout(
            (task.timeout for task in app.tasks_on(spec.name)), source.batch_size
        )
        return cls(
            name=spec.name,
            consumer=spec.consumer if spec.declared else config.runtime,
            function_timeout=timeout,
            event_source=source,
            concurrency=spec.concurrency or config.worker_concurrency,
            max_receive_count=spec.max_receive_count or MAX_RECEIVE_COUNT,
            fifo=spec.fifo,
        )

    def resources(self, default: DevResources) -> DevResources:
        """This queue's task queue and DLQ, named after the default queue's resources."""
        return default.for_lane(
            self.name,
            visibility_timeout=visibility_for(self.function_timeout),
            max_receive_count=self.max_receive_count,
            fifo=self.fifo,
        )

    def describe(self) -> str:
        if self.consumer == "worker":
            return f"worker, {self.concurrency} tasks at once"
        return (
            f"Lambda emulation, batch size {self.event_source.batch_size}, "
            f"function timeout {self.function_timeout:g} s (as deployed)"
        )


def _clients(endpoint_url: str) -> Clients:
    """Clients bound to the endpoint explicitly, so they stay right if the env changes."""
    import boto3

    return Clients(
        **{name: boto3.client(name, endpoint_url=endpoint_url) for name in ("sqs", "sns", "dynamodb")}
    )

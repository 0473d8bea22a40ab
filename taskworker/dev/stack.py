"""DevStack: the embedded endpoint, the resources, the API, the consumer and the results
log, started together and stopped together."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from taskworker.app import TaskApp
from taskworker.aws import Clients
from taskworker.dev.api import LocalApi
from taskworker.dev.endpoint import EmbeddedEndpoint, aws_environment
from taskworker.dev.event_source import EventSourceConfig, LambdaEventSource
from taskworker.dev.ports import LOCALHOST
from taskworker.dev.resources import DevResources, consumer_timeout, prefix_for, provision, visibility_for
from taskworker.dev.results_log import ResultsLog

Runtime = Literal["lambda", "worker"]


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
        self.function_timeout = config.event_source.function_timeout or consumer_timeout(
            (task.timeout for task in app.registry.values()), config.event_source.batch_size
        )
        self.resources = config.resources or DevResources(
            prefix=config.prefix or prefix_for(app.name),
            visibility_timeout=visibility_for(self.function_timeout),
        )
        self.endpoint_url = ""
        self.api: LocalApi | None = None
        self.console_url = ""
        self.results: ResultsLog | None = None
        self._consumer: Any = None
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
        provisioned = provision(self.resources, clients.sqs, clients.sns, clients.dynamodb)
        self.app.configure(settings=provisioned.settings, clients=clients)
        assert provisioned.settings.queue_url
        self.api = LocalApi(self.app, clients.sqs, provisioned.settings.queue_url, self.config.port)
        self.api.start()
        self._exit.callback(self.api.stop)
        self.console_url = self._start_console(clients)
        self.results = ResultsLog(clients.sqs, provisioned.results_queue_url, self.printer)
        self.results.start()
        self._exit.callback(self.results.stop)
        self._consumer = self._start_consumer(clients, provisioned.settings.queue_url)
        if self.config.schedules and self.app.schedules:
            from taskworker.dev.schedules import ScheduleFirer

            firer = ScheduleFirer(list(self.app.schedules.values()), self.app.client(), printer=self.printer)
            firer.start()
            self._exit.callback(firer.stop)

    def _start_consumer(self, clients: Clients, queue_url: str) -> Any:
        if self.config.runtime == "lambda":
            source = LambdaEventSource(
                clients.sqs,
                queue_url,
                self.app.lambda_handler,
                self.config.event_source,
                function_timeout=self.function_timeout,
            )
            source.start()
            self._exit.callback(source.stop)
            return source
        from taskworker.dev.worker_runtime import start_worker

        worker = start_worker(self.app, self.config.worker_concurrency)
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
        for part in (self._consumer, self.results):
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
                f"  queue         {settings.queue_url}",
                f"  DLQ           {settings.dlq_url}",
                f"  result topic  {settings.result_topic_arn}",
                f"  tables        {settings.status_table}, {settings.idempotency_table}",
                f"  tasks         {', '.join(sorted(self.app.registry))}",
                f"  consumer      batch size {self.config.event_source.batch_size}, "
                f"function timeout {self.function_timeout:g} s, "
                f"visibility timeout {self.resources.visibility_timeout} s (as deployed)",
            ]
        )


def _clients(endpoint_url: str) -> Clients:
    """Clients bound to the endpoint explicitly, so they stay right if the env changes."""
    import boto3

    return Clients(
        **{name: boto3.client(name, endpoint_url=endpoint_url) for name in ("sqs", "sns", "dynamodb")}
    )

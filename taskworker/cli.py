"""The ``taskworker`` command: run a worker, send tasks, read status, tend the DLQ.

Settings come from ``TASKWORKER_*`` environment variables; options override them for one
run. Endpoints come from boto3's own ``AWS_ENDPOINT_URL``. Mistakes a user can fix (a
wrong ``module:attribute``, a missing queue URL, bad JSON) end with a one-line message and
exit code 2, never a traceback. Needs the ``cli`` extra (typer, rich); the library itself
never imports this module.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from taskworker.app import TaskApp, load_app
from taskworker.errors import AppLoadError, TaskDefinitionError, TaskworkerError
from taskworker.settings import Settings

USAGE_ERROR = 2

app = typer.Typer(
    name="taskworker",
    help="Typed heavy-task consumers for AWS SQS: run workers, send tasks, inspect results.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
dlq_app = typer.Typer(help="Inspect the dead-letter queue and send its messages back.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")

out = Console()
err = Console(stderr=True)

AppPath = Annotated[
    str, typer.Argument(help="The app as 'package.module:attribute', e.g. examples.reports:app.")
]
QueueUrl = Annotated[
    str | None, typer.Option("--queue-url", help="Task queue URL [default: $TASKWORKER_QUEUE_URL].")
]
DlqUrl = Annotated[str | None, typer.Option("--dlq-url", help="DLQ URL [default: $TASKWORKER_DLQ_URL].")]


def fail(message: str) -> NoReturn:
    """A user-fixable problem: one line on stderr, exit code 2."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(USAGE_ERROR)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn taskworker's own errors (and bad settings) into one-line failures (exit 2), and
    AWS errors into one-line failures (exit 1): the user needs the reason, not a traceback."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (TaskworkerError, ValueError) as exc:
        fail(str(exc))
    except (BotoCoreError, ClientError) as exc:
        err.print(f"[bold red]AWS error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def settings(**overrides: Any) -> Settings:
    with user_errors():
        return Settings.from_env().merged(**overrides)


def load(path: str, **overrides: Any) -> TaskApp:
    if os.getcwd() not in sys.path:  # apps live in the user's project, as with uvicorn
        sys.path.insert(0, os.getcwd())
    try:
        task_app = load_app(path)
    except (AppLoadError, TaskDefinitionError) as exc:  # a declaration refused at import
        fail(str(exc))
    with user_errors():
        task_app.configure(settings=task_app.settings.merged(**overrides))
    return task_app


def require(value: str | None, what: str, variable: str, option: str) -> str:
    if not value:
        fail(f"no {what}: set {variable} or pass {option}")
    return value


def sqs() -> Any:
    import boto3

    return boto3.client("sqs")


# --------------------------------------------------------------------- worker


@app.command()
def worker(
    app_path: AppPath,
    pool: Annotated[
        str, typer.Option(help="'thread' for I/O-bound tasks, 'process' for CPU-bound.")
    ] = "thread",
    concurrency: Annotated[
        int | None, typer.Option(help="Tasks at once [default: 16 threads or one process per CPU].")
    ] = None,
    queue_url: QueueUrl = None,
    dlq_url: DlqUrl = None,
    wait_time: Annotated[int, typer.Option(help="Long-poll seconds per receive (0-20).")] = 20,
    visibility_timeout: Annotated[int, typer.Option(help="Seconds a held message stays invisible.")] = 30,
    max_task_seconds: Annotated[float, typer.Option(help="Time limit of tasks without a timeout.")] = 12
    * 3600.0,
    grace: Annotated[float, typer.Option(help="Seconds running tasks get to finish after SIGTERM.")] = 30.0,
    exit_when_empty: Annotated[bool, typer.Option(help="Stop once the queue is empty.")] = False,
    queue: Annotated[
        str | None,
        typer.Option(
            help="The app's queue to drain [default: $TASKWORKER_QUEUE, else its one worker queue]; "
            "its URL comes from $TASKWORKER_QUEUE_URLS unless --queue-url is given."
        ),
    ] = None,
) -> None:
    """Consume one task queue until SIGTERM/SIGINT (a second signal exits at once)."""
    from taskworker.handlers.worker import WorkerOptions, run_worker

    task_app = load(app_path)
    options = WorkerOptions(
        pool=pool,  # type: ignore[arg-type]  # checked by WorkerOptions.check
        concurrency=concurrency,
        wait_time_seconds=wait_time,
        visibility_timeout=visibility_timeout,
        max_task_seconds=max_task_seconds,
        grace_seconds=grace,
        exit_when_empty=exit_when_empty,
        app_path=app_path,
    )
    with user_errors():
        code = run_worker(task_app, options, queue=queue, queue_url=queue_url, dlq_url=dlq_url)
    raise typer.Exit(code)


# --------------------------------------------------------------------- send


@app.command()
def send(
    app_path: AppPath,
    task_type: Annotated[str | None, typer.Argument(help="Task type, e.g. report.generate.")] = None,
    payload: Annotated[str | None, typer.Argument(help="The payload as JSON text.")] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", "-f", help='JSON lines: {"task_type": ..., "payload": ..., "idempotency_key"?: ...}.'
        ),
    ] = None,
    idempotency_key: Annotated[str | None, typer.Option(help="Idempotency key (one task).")] = None,
    delay: Annotated[int | None, typer.Option(help="Delay in seconds before the task is visible.")] = None,
    queue_url: QueueUrl = None,
) -> None:
    """Send one task (TASK_TYPE JSON) or many (--file tasks.jsonl); payloads are validated first."""
    task_app = load(app_path, queue_url=queue_url)
    require(task_app.settings.queue_url, "queue URL", "TASKWORKER_QUEUE_URL", "--queue-url")
    client = task_app.client()
    if file is not None:
        if task_type or payload:
            fail("give either TASK_TYPE JSON or --file, not both")
        requests = read_jsonl(file)
        with user_errors(), progress_bar(f"sending {len(requests)} tasks", len(requests)) as advance:
            ids = client.submit_many(requests, progress=advance)
        out.print(f"sent {len(ids)} tasks")
        return
    if not task_type or payload is None:
        fail("give TASK_TYPE and a JSON payload, or --file tasks.jsonl")
    data = parse_json(payload, "payload")
    with user_errors():
        task_id = client.submit(task_type, data, idempotency_key=idempotency_key, delay_seconds=delay).task_id
    out.print(task_id, highlight=False)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")
    requests = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            item = parse_json(line, f"{path}:{number}")
            if not isinstance(item, dict):
                fail(f"{path}:{number}: expected a JSON object")
            requests.append(item)
    return requests


def parse_json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})")


@contextmanager
def progress_bar(label: str, total: int | None) -> Iterator[Any]:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=False) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


# --------------------------------------------------------------------- status


@app.command()
def status(
    task_id: Annotated[str, typer.Argument(help="The task id returned when it was sent.")],
    status_table: Annotated[
        str | None, typer.Option(help="Status table [default: $TASKWORKER_STATUS_TABLE].")
    ] = None,
) -> None:
    """Print a task's status record as JSON."""
    from taskworker.client import TaskClient

    config = settings(status_table=status_table)
    require(config.status_table, "status table", "TASKWORKER_STATUS_TABLE", "--status-table")
    with user_errors():
        record = TaskClient(settings=config).get_status(task_id)
    if record is None:
        err.print(f"no status recorded for task {task_id}", highlight=False)
        raise typer.Exit(1)
    out.print_json(json.dumps(record))


@app.command()
def cancel(
    task_id: Annotated[str, typer.Argument(help="The task id returned when it was sent.")],
    status_table: Annotated[
        str | None, typer.Option(help="Status table [default: $TASKWORKER_STATUS_TABLE].")
    ] = None,
) -> None:
    """Cancel a task: asked to stop if it runs, not run again if it waits for a retry (exit 1
    if it already has a final status or no status record)."""
    from taskworker.client import TaskClient
    from taskworker.errors import TaskNotFoundError

    config = settings(status_table=status_table)
    require(config.status_table, "status table", "TASKWORKER_STATUS_TABLE", "--status-table")
    with user_errors():
        try:
            accepted = TaskClient(settings=config).cancel(task_id)
        except TaskNotFoundError as missing:  # exit 1 like `taskworker status`, not a usage error
            err.print(str(missing), highlight=False)
            raise typer.Exit(1) from None
    if not accepted:
        err.print(f"task {task_id} already has a final status; nothing to cancel", highlight=False)
        raise typer.Exit(1)
    out.print(f"cancellation of {task_id} requested", highlight=False)


# --------------------------------------------------------------------- schema


@app.command()
def schema(app_path: AppPath) -> None:
    """Print every task's input and output JSON Schema."""
    task_app = load(app_path)
    out.print_json(json.dumps(task_app.schemas()))


@app.command()
def schedules(app_path: AppPath) -> None:
    """List the app's schedules (app.schedule) with their next run."""
    from datetime import UTC, datetime

    task_app = load(app_path)
    if not task_app.schedules:
        out.print(f"{task_app.name} declares no schedules", highlight=False)
        return
    now = datetime.now(UTC)
    table = Table("schedule", "expression", "timezone", "task", "next run (UTC)")
    for spec in task_app.schedules.values():
        following = spec.next_run(now)
        when = "never (past)" if following is None else following.strftime("%Y-%m-%d %H:%M:%S")
        if spec.expression.interval is not None:
            when += " (rates count from deployment)"
        table.add_row(spec.name, spec.expression.text, spec.timezone, spec.task_type, when)
    out.print(table)


# --------------------------------------------------------------------- dlq


QueueName = Annotated[
    str | None,
    typer.Option(
        "--queue",
        help="The app's queue whose DLQ to use (its URL from $TASKWORKER_QUEUE_URLS) "
        "[default: $TASKWORKER_DLQ_URL, else the default queue's].",
    ),
]


def dead_letters(dlq_url: str | None, queue_url: str | None = None, queue: str | None = None) -> Any:
    """The DLQ to work on: of the queue named, else the configured one (as before queues
    could be declared), else the default queue's; redriven to its own queue."""
    from taskworker.dlq_admin import DeadLetters, of_queue
    from taskworker.queues import DEFAULT_QUEUE

    config = settings()
    if queue is None and not (dlq_url or config.dlq_url) and config.queue_urls:
        queue = DEFAULT_QUEUE
    if queue is not None:
        with user_errors():
            return of_queue(sqs(), config, queue, dlq_url=dlq_url, queue_url=queue_url)
    config = config.merged(dlq_url=dlq_url, queue_url=queue_url)
    url = require(config.dlq_url, "DLQ URL", "TASKWORKER_DLQ_URL", "--dlq-url")
    return DeadLetters(sqs(), url, config.queue_url)


@dlq_app.command("list")
def dlq_list(
    limit: Annotated[int, typer.Option(help="At most this many messages.")] = 20,
    dlq_url: DlqUrl = None,
    queue: QueueName = None,
) -> None:
    """Show failed tasks with their reasons (the DLQ is left as it was)."""
    letters = dead_letters(dlq_url, queue=queue)
    with user_errors():
        items = letters.peek(limit)
    table = Table()
    for name in ("task id", "task type", "error", "message", "failed at", "receives"):
        table.add_column(name, overflow="fold", no_wrap=name in ("error", "receives"))
    for item in items:
        table.add_row(
            item.task_id,
            item.task_type or "",
            item.error_type or "(redriven by SQS)",
            item.error_message or "",
            item.failed_at or "",
            str(item.receive_count),
        )
    out.print(table)
    out.print(f"{len(items)} shown; about {letters.depth()} in the DLQ")


@dlq_app.command("show")
def dlq_show(
    task_id: Annotated[str, typer.Argument(help="Task id of the failed task (the id the API returned).")],
    dlq_url: DlqUrl = None,
    queue: QueueName = None,
) -> None:
    """Print one failed task: its reason, attributes and payload.

    A message SQS redrove itself carries no reason; with TASKWORKER_STATUS_TABLE set, the
    task's status (which names the error) is shown too.
    """
    letters = dead_letters(dlq_url, queue=queue)
    with user_errors():
        item = letters.find(task_id)
    if item is None:
        err.print(f"task {task_id} is not in the DLQ (or not visible right now)", highlight=False)
        raise typer.Exit(1)
    try:
        body: Any = json.loads(item.body)
    except json.JSONDecodeError:
        body = item.body
    record = {
        "task_id": item.task_id,
        "message_id": item.message_id,
        "task_type": item.task_type,
        "error": {"type": item.error_type, "message": item.error_message} if item.error_type else None,
        "failed_at": item.failed_at,
        "receive_count": item.receive_count,
        "attributes": item.attributes,
        "payload": body,
    }
    status = _dead_letter_status(item.task_id)
    if status is not None:
        record["status"] = status
    out.print_json(json.dumps(record))


def _dead_letter_status(task_id: str) -> dict[str, Any] | None:
    """The task's status record when a status table is configured."""
    from taskworker.client import TaskClient

    config = settings()
    if not config.status_table:
        return None
    with user_errors():
        return TaskClient(settings=config).get_status(task_id)


@dlq_app.command("redrive")
def dlq_redrive(
    dlq_url: DlqUrl = None,
    queue_url: QueueUrl = None,
    manual: Annotated[bool, typer.Option(help="Move by hand even if StartMessageMoveTask works.")] = False,
    queue: QueueName = None,
) -> None:
    """Send every DLQ message back to its task queue (server-side move if available)."""
    from taskworker.dlq_admin import RedriveError

    letters = dead_letters(dlq_url, queue_url, queue)
    require(letters.queue_url, "task queue URL", "TASKWORKER_QUEUE_URL", "--queue-url")
    total = letters.depth()
    try:
        with progress_bar("redriving", total) as advance:
            report = letters.redrive(progress=advance, server_side=not manual)
    except RedriveError as exc:
        fail(str(exc))
    if report.note:
        err.print(report.note, highlight=False)
    out.print(f"redrove {report.moved} messages ({report.method})")


# --------------------------------------------------------------------- console


@app.command()
def console(
    app_path: AppPath,
    host: Annotated[
        str, typer.Option(help="Address to bind; anywhere but loopback requires a token.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind (0: any free port).")] = 8001,
    allow_changes: Annotated[
        bool, typer.Option(help="Allow redrive and delete (each still asks for confirmation).")
    ] = False,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="TASKWORKER_CONSOLE_TOKEN",
            help="Token every request must bring (default: none on loopback, else generated and printed).",
        ),
    ] = None,
    interval: Annotated[float, typer.Option(help="Seconds between queue depth samples.")] = 10.0,
) -> None:
    """Serve the operator's console: queue depths, recent tasks, the DLQ (read-only by default)."""
    from taskworker.background_server import BackgroundServer
    from taskworker.console import ConsoleConfig, create_app
    from taskworker.console.safety import TOKEN_PARAM, required_token

    task_app = load(app_path)
    if interval <= 0:
        fail("--interval must be above 0")
    config = ConsoleConfig(
        task_app.settings,
        allow_changes=allow_changes,
        token=required_token(host, token),
        sample_interval=interval,
    )
    with user_errors():
        server = BackgroundServer(create_app(config), host, port)
        try:
            url = server.start()
        except (RuntimeError, OSError) as exc:
            fail(f"cannot serve the console on {host}:{port}: {exc}")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    mode = "changes allowed" if allow_changes else "read-only"
    shown = f"{url}/?{TOKEN_PARAM}={config.token}" if config.token and not token else url
    out.print(f"taskworker console: {task_app.name} at {shown} ({mode})", highlight=False, soft_wrap=True)
    out.print("Ctrl-C to stop.", style="dim")
    stop.wait()
    server.stop()


# --------------------------------------------------------------------- dev, demo

Runtime = Annotated[
    str, typer.Option(help="'lambda' emulates Lambda's SQS event source; 'worker' runs the container worker.")
]
Port = Annotated[int, typer.Option(help="Port of the local API on 127.0.0.1 (0: any free port).")]
AwsPort = Annotated[int, typer.Option(help="Port of the embedded AWS endpoint (0: any free port).")]


def _dev_config(
    port: int,
    aws_port: int,
    runtime: str,
    endpoint_url: str | None = None,
    batch_size: int = 1,
    batching_window: float = 0.0,
    function_timeout: float | None = None,
    concurrency: int = 4,
    prefix: str | None = None,
) -> Any:
    from taskworker.dev import DevStackConfig
    from taskworker.dev.event_source import EventSourceConfig

    if runtime not in ("lambda", "worker"):
        fail(f"--runtime must be 'lambda' or 'worker', not {runtime!r}")
    source = EventSourceConfig(
        batch_size=batch_size, batching_window=batching_window, function_timeout=function_timeout
    )
    return DevStackConfig(
        port=port,
        aws_port=aws_port,
        runtime=runtime,  # type: ignore[arg-type]
        endpoint_url=endpoint_url,
        event_source=source,
        worker_concurrency=concurrency,
        prefix=prefix,
    )


@app.command()
def dev(
    app_path: AppPath,
    port: Port = 8000,
    aws_port: AwsPort = 5000,
    runtime: Runtime = "lambda",
    endpoint_url: Annotated[
        str | None, typer.Option(help="Use this AWS endpoint (LocalStack, ...) instead of the embedded one.")
    ] = None,
    batch_size: Annotated[
        int, typer.Option(help="Lambda emulation: records per event (1-10); 1 as deployed.")
    ] = 1,
    batching_window: Annotated[
        float, typer.Option(help="Lambda emulation: seconds to gather a batch.")
    ] = 0.0,
    function_timeout: Annotated[
        float | None,
        typer.Option(help="Lambda emulation: function timeout [default: as deployed, slowest task + 30 s]."),
    ] = None,
    concurrency: Annotated[int, typer.Option(help="Worker runtime: tasks at once.")] = 4,
    prefix: Annotated[
        str | None,
        typer.Option(help="Start of every resource name [default: derived from the app's name]."),
    ] = None,
    schedules: Annotated[str, typer.Option(help="Fire the app's schedules locally: on or off.")] = "on",
) -> None:
    """Run the whole pipeline on this machine: AWS endpoint, API, consumer, result log."""
    from taskworker.dev import DevStack
    from taskworker.dev.ports import PortInUseError

    task_app = load(app_path)
    config = _dev_config(
        port,
        aws_port,
        runtime,
        endpoint_url,
        batch_size,
        batching_window,
        function_timeout,
        concurrency,
        prefix,
    )
    if schedules not in ("on", "off"):
        fail(f"--schedules must be 'on' or 'off', not {schedules!r}")
    config.schedules = schedules == "on"
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        with DevStack(
            task_app, config, printer=lambda line: out.print(line, highlight=False, soft_wrap=True)
        ) as stack:
            out.print(stack.banner(), highlight=False, soft_wrap=True)
            out.print("Ctrl-C to stop.", style="dim")
            stop.wait()
            out.print("stopping...", style="dim")
    except PortInUseError as exc:
        fail(str(exc))


@app.command()
def demo(
    app_path: Annotated[
        str, typer.Option("--app", help="The app to tour: the example app, or one with its tasks.")
    ] = "examples.reports:app",
    port: Port = 0,
    aws_port: AwsPort = 0,
    runtime: Runtime = "lambda",
) -> None:
    """A scripted tour of the example app: start the dev stack, submit tasks over HTTP, show
    what became of them. Other apps: ``taskworker dev``."""
    from taskworker.dev.demo import NotTheExampleAppError, run_demo
    from taskworker.dev.ports import PortInUseError

    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "CRITICAL")  # the tour prints its own lines
    task_app = load(app_path)
    try:
        code = run_demo(task_app, _dev_config(port, aws_port, runtime), printer=_plain)
    except (PortInUseError, NotTheExampleAppError) as exc:
        fail(str(exc))
    raise typer.Exit(code)


def _plain(line: str) -> None:
    out.print(line, highlight=False, markup=False, soft_wrap=True)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="taskworker")


if __name__ == "__main__":
    main()

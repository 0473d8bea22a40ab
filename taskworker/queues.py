"""Queues per workload: which queue each task travels on, and which consumer drains it.

One queue makes the slowest task set every task's timeout and lets a burst of long tasks
delay quick ones. ``app.queue(...)`` declares a lane; ``@app.task(..., queue=...)`` puts a
task on it. Every combination that cannot work once deployed (a Lambda queue for a task
that outlasts Lambda, a grouped task on a standard queue, a task on an undeclared queue)
is refused while the app's module is imported, with the task and the fix named.

The declaration is what the runtimes, the client, the dev stack and ``infra/`` all read:
none of them has its own notion of queues.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from taskworker.errors import TaskDefinitionError

if TYPE_CHECKING:
    from taskworker.registry import TaskDefinition

Consumer = Literal["lambda", "worker"]
CONSUMERS: tuple[Consumer, ...] = ("lambda", "worker")
DEFAULT_QUEUE = "default"
QUEUE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}(\.fifo)?$")
LAMBDA_MAX_SECONDS = 900
"""Lambda stops a function after 15 minutes: no task on a Lambda queue may need more."""


@dataclass(frozen=True, slots=True)
class QueueSpec:
    """One declared queue and how it is consumed.

    ``None`` options mean "the deployment's default" (``infra/`` fills them in from its
    ``ConsumerOptions`` / ``WorkerOptions``), so a declaration states only what differs.
    """

    name: str
    consumer: Consumer = "lambda"
    fifo: bool = False
    max_receive_count: int | None = None
    """Receives before SQS moves a message to this queue's DLQ."""
    batch_size: int | None = None
    """Lambda: messages per invocation (the event source's batch size)."""
    max_concurrency: int | None = None
    """Lambda: concurrent invocations the event source may start (AWS allows 2-1000)."""
    concurrency: int | None = None
    """Worker: tasks one container runs at once."""
    max_workers: int | None = None
    """Worker: containers at most (the service scales on the backlog, down to zero)."""
    declared: bool = True
    """``False`` for the default queue while the app has not declared it: then its consumer
    and FIFO-ness are whatever the deployment says, as before queues could be declared."""

    def describe(self) -> str:
        kind = "FIFO " if self.fifo else ""
        return f"{kind}queue {self.name!r} (consumer={self.consumer!r})"


IMPLICIT_DEFAULT = QueueSpec(DEFAULT_QUEUE, declared=False)

_LAMBDA_ONLY = ("batch_size", "max_concurrency")
_WORKER_ONLY = ("concurrency", "max_workers")


def declare_queue(
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
    """A checked :class:`QueueSpec`; every wrong option is a :class:`TaskDefinitionError`."""
    check_queue_name(name, f"app.queue({name!r})")
    where = f"app.queue({name!r})"
    if consumer not in CONSUMERS:
        raise TaskDefinitionError(f"{where}: consumer={consumer!r} must be 'lambda' or 'worker'")
    named_fifo = name.endswith(".fifo")
    if fifo is False and named_fifo:
        raise TaskDefinitionError(f"{where}: a name ending in '.fifo' is a FIFO queue; drop fifo=False")
    options = {
        "max_receive_count": (max_receive_count, 1, 1000),
        "batch_size": (batch_size, 1, 10 if (fifo or named_fifo) else 10_000),
        "max_concurrency": (max_concurrency, 2, 1000),
        "concurrency": (concurrency, 1, 1024),
        "max_workers": (max_workers, 1, 1000),
    }
    for option, (value, low, high) in options.items():
        _check_range(where, option, value, low, high)
    foreign = _WORKER_ONLY if consumer == "lambda" else _LAMBDA_ONLY
    given = [option for option in foreign if options[option][0] is not None]
    if given:
        raise TaskDefinitionError(
            f"{where}: {', '.join(given)} applies to consumer="
            f"{'worker' if consumer == 'lambda' else 'lambda'!r} queues, not consumer={consumer!r}"
        )
    return QueueSpec(
        name=name,
        consumer=consumer,
        fifo=bool(fifo) or named_fifo,
        max_receive_count=max_receive_count,
        batch_size=batch_size,
        max_concurrency=max_concurrency,
        concurrency=concurrency,
        max_workers=max_workers,
    )


def check_queue_name(name: object, where: str) -> None:
    if not isinstance(name, str) or not QUEUE_NAME.match(name):
        raise TaskDefinitionError(
            f"{where}: invalid queue name {name!r}; use 1-40 characters of lowercase letters, "
            "digits or '-', starting with a letter, optionally ending in '.fifo' (e.g. 'long')"
        )


def check_task_fits(task: TaskDefinition, queue: QueueSpec) -> None:
    """Refuse a task its queue cannot carry: too slow for Lambda, or grouped on a standard queue.

    The implicit default queue is not checked: until it is declared, its consumer and its
    FIFO-ness are the deployment's (``AsyncTaskService(worker=...)``, the queue URL).
    """
    if not queue.declared:
        return
    where = f"task {task.name!r}"
    if queue.consumer == "lambda" and task.timeout is not None and task.timeout > LAMBDA_MAX_SECONDS:
        raise TaskDefinitionError(
            f"{where}: timeout={task.timeout:g} s is more than Lambda's {LAMBDA_MAX_SECONDS} s, "
            f"and its {queue.describe()} is consumed by Lambda; put it on a worker queue: "
            "app.queue('long', consumer='worker') and @app.task(..., queue='long')"
        )
    if task.message_group is not None and not queue.fifo:
        raise TaskDefinitionError(
            f"{where}: message_group={task.message_group!r} orders its messages, which needs a "
            f"FIFO queue, but {queue.describe()} is standard; declare "
            f"app.queue({queue.name!r}, fifo=True) or put the task on a '.fifo' queue"
        )


def check_all_declared(tasks: Iterable[TaskDefinition], queues: dict[str, QueueSpec]) -> None:
    """Every task's queue must be declared (the default queue always is)."""
    for task in tasks:
        if task.queue not in queues:
            raise TaskDefinitionError(
                f"task {task.name!r} is on queue {task.queue!r}, which is not declared; add "
                f"app.queue({task.queue!r}, consumer='lambda' or 'worker') to the app's module "
                f"(declared: {', '.join(sorted(queues))})"
            )


def _check_range(where: str, option: str, value: object, low: int, high: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise TaskDefinitionError(f"{where}: {option}={value!r} must be a whole number from {low} to {high}")

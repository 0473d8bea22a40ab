"""What is deployed for each queue of an app: its declaration with the deployment's defaults
filled in, and the timeouts derived from the tasks on that queue alone.

Plain data, no constructs: every decision that turns ``app.queue(...)`` into resources is
made (and refused, with the task and the fix named) here, before anything is built, so a
wrong combination never leaves half a stack behind and is testable without a synth.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from taskworker.queues import DEFAULT_QUEUE, Consumer, QueueSpec

from .consumer import ConsumerOptions
from .queues import MAX_RECEIVE_COUNT
from .registry import AppSpec, TaskSpec
from .timeouts import LAMBDA_MAX_TIMEOUT, lambda_timeout, required_consumer_timeout, visibility_timeout
from .worker import WorkerOptions

__all__ = ["QueuePlan", "construct_suffix", "plan_queues"]


@dataclass(frozen=True)
class QueuePlan:
    """One queue as it is deployed.

    ``suffix`` is appended to the construct ids of the queue's resources: empty for the
    default queue, so an app that declares no queues keeps the logical ids it always had.
    Exactly one of ``lambda_options`` / ``worker_options`` is set, as ``consumer`` says.
    """

    name: str
    suffix: str
    consumer: Consumer
    fifo: bool
    max_receive_count: int
    consumer_timeout: int
    """Seconds: the Lambda function's timeout, or the worker's slowest task plus margin."""
    visibility_timeout: int
    tasks: tuple[TaskSpec, ...]
    lambda_options: ConsumerOptions | None = None
    worker_options: WorkerOptions | None = None
    concurrency: int | None = None
    """Worker: the ``--concurrency`` of each container (``None``: the CLI's default)."""

    def worker_arguments(self, *, name_queue: bool) -> list[str]:
        """The ``taskworker worker APP`` options: ``--queue`` when the app has several
        queues (without it a worker drains every worker queue), ``--concurrency`` if set."""
        arguments = ["--queue", self.name] if name_queue else []
        if self.concurrency is not None:
            arguments += ["--concurrency", str(self.concurrency)]
        return arguments


def plan_queues(
    app: AppSpec, *, consumer: ConsumerOptions, worker: WorkerOptions | None
) -> tuple[QueuePlan, ...]:
    """One plan per queue of ``app``, the default queue first.

    ``consumer`` and ``worker`` are the deployment's defaults for what a declaration leaves
    open; ``worker`` also makes an *undeclared* default queue a worker queue (``worker=True``,
    as before queues could be declared).
    """
    plans = tuple(
        _plan(spec, app.tasks_on(spec.name), consumer=consumer, worker=worker) for spec in app.queues
    )
    _refuse_clashing_suffixes(plans)
    return plans


def construct_suffix(queue: str) -> str:
    """``""`` for the default queue, else the name in PascalCase: ``"long"`` -> ``"Long"``,
    ``"orders.fifo"`` -> ``"OrdersFifo"`` (construct ids, so logical ids read as the queue)."""
    if queue == DEFAULT_QUEUE:
        return ""
    return "".join(word.capitalize() for word in re.split(r"[^A-Za-z0-9]+", queue) if word)


def _plan(
    spec: QueueSpec, tasks: Sequence[TaskSpec], *, consumer: ConsumerOptions, worker: WorkerOptions | None
) -> QueuePlan:
    kind: Consumer = spec.consumer if spec.declared else ("worker" if worker else "lambda")
    required = required_consumer_timeout(
        (task.timeout for task in tasks),
        default_task_timeout=consumer.default_task_timeout.to_seconds(),
        margin=consumer.timeout_margin.to_seconds(),
    )
    lambda_options: ConsumerOptions | None = None
    worker_options: WorkerOptions | None = None
    if kind == "worker":
        options = worker or WorkerOptions()
        worker_options = replace(options, max_tasks=spec.max_workers or options.max_tasks)
        timeout = required
    else:
        lambda_options, timeout = _lambda_consumer(spec, tasks, required, consumer)
    return QueuePlan(
        name=spec.name,
        suffix=construct_suffix(spec.name),
        consumer=kind,
        fifo=spec.fifo,
        max_receive_count=spec.max_receive_count or MAX_RECEIVE_COUNT,
        consumer_timeout=timeout,
        visibility_timeout=visibility_timeout(timeout),
        tasks=tuple(tasks),
        lambda_options=lambda_options,
        worker_options=worker_options,
        concurrency=spec.concurrency,
    )


def _lambda_consumer(
    spec: QueueSpec, tasks: Sequence[TaskSpec], required: int, consumer: ConsumerOptions
) -> tuple[ConsumerOptions, int]:
    """The event source's options for this queue, and the function's timeout in seconds."""
    _refuse_too_slow_for_lambda(spec, tasks, required, consumer)
    options = replace(
        consumer,
        batch_size=spec.batch_size or consumer.batch_size,
        max_concurrency=consumer.max_concurrency if spec.max_concurrency is None else spec.max_concurrency,
        # SQS event sources on FIFO queues take no batching window
        max_batching_window=None if spec.fifo else consumer.max_batching_window,
    )
    timeout = lambda_timeout(
        required,
        batch_size=options.batch_size,
        requested=int(consumer.function_timeout.to_seconds()) if consumer.function_timeout else None,
    )
    return options, timeout


def _refuse_too_slow_for_lambda(
    spec: QueueSpec, tasks: Sequence[TaskSpec], required: int, consumer: ConsumerOptions
) -> None:
    """A Lambda queue whose slowest task plus the margin exceeds 900 s, named with the fix.

    The core refuses a task timeout above 900 s on a declared Lambda queue at import; the
    margin (``ConsumerOptions.timeout_margin``) and the undeclared default queue are known
    only here.
    """
    if required <= LAMBDA_MAX_TIMEOUT:
        return
    default = consumer.default_task_timeout.to_seconds()
    slowest = max(tasks, key=lambda task: task.timeout if task.timeout is not None else default)
    seconds = slowest.timeout if slowest.timeout is not None else default
    margin = consumer.timeout_margin.to_seconds()
    where = "default queue" if not spec.declared else f"queue {spec.name!r}"
    fixes = [
        "put it on a worker queue: app.queue('long', consumer='worker') and @app.task(..., queue='long')",
        f"lower its timeout to at most {LAMBDA_MAX_TIMEOUT - margin:g} s",
        "lower ConsumerOptions(timeout_margin=...)",
    ]
    if not spec.declared:
        fixes.insert(1, "run the default queue on the container worker (worker=True)")
    raise ValueError(
        f"task {slowest.name!r} on the {where} (consumed by Lambda) needs {seconds:g} s plus the "
        f"timeout margin of {margin:g} s = {required} s, but Lambda stops at "
        f"{LAMBDA_MAX_TIMEOUT} s; " + "; or ".join(fixes)
    )


def _refuse_clashing_suffixes(plans: Sequence[QueuePlan]) -> None:
    seen: dict[str, str] = {}
    for plan in plans:
        if plan.suffix in seen:
            raise ValueError(
                f"queues {seen[plan.suffix]!r} and {plan.name!r} would share the construct ids "
                f"'Queues{plan.suffix}'; rename one of them"
            )
        seen[plan.suffix] = plan.name

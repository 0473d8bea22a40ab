"""Metrics: CloudWatch embedded metric format (EMF), one blob per task type per batch.

Counts ``TasksSucceeded``, ``TasksFailed`` (failed for good), ``TasksRetried``,
``TasksDuplicate`` and the ``TaskDuration`` (milliseconds) of every task that ran, with the
dimension ``task_type``. They are collected in ``after_batch`` from the settled outcomes
(after dead-lettering and result events, so a requeued success counts as a retry) and
printed as EMF lines, which CloudWatch turns into metrics with no API call.

powertools' ``Metrics`` shares one metric set per process across instances, and one EMF
blob carries one dimension set; mixing task types in it would mislabel every value. So
each batch builds one ``EphemeralMetrics`` (no shared state) per task type and flushes it
once. powertools itself flushes early when a metric reaches 100 values, so large batches
stay within EMF's limits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from taskworker.middleware.base import Middleware
from taskworker.outcomes import Cancelled, Failed, RetryLater, Succeeded, TaskResult

DIMENSION = "task_type"
UNKNOWN_TASK_TYPE = "(unknown)"
"""The dimension value for messages naming no registered task: arbitrary names sent to the
queue must not create arbitrary metric dimensions."""


@dataclass(slots=True)
class _Tally:
    succeeded: int = 0
    failed: int = 0
    retried: int = 0
    cancelled: int = 0
    duplicate: int = 0
    durations: list[float] = field(default_factory=list)

    def add(self, result: TaskResult) -> None:
        outcome = result.outcome
        if isinstance(outcome, Succeeded) and outcome.duplicate:
            self.duplicate += 1
            return
        if isinstance(outcome, Succeeded):
            self.succeeded += 1
        elif isinstance(outcome, Failed):
            self.failed += 1
        elif isinstance(outcome, RetryLater):
            self.retried += 1
        elif isinstance(outcome, Cancelled):
            self.cancelled += 1
        if result.task is not None:
            self.durations.append(result.duration_ms)


class TaskMetrics(Middleware):
    """Emits the batch's task metrics under ``namespace``; see the module docstring."""

    def __init__(self, namespace: str, *, service: str | None = None) -> None:
        self.namespace = namespace
        self.service = service

    def after_batch(self, results: Sequence[TaskResult]) -> None:
        tallies: dict[str, _Tally] = {}
        for result in results:
            task_type = result.task.name if result.task is not None else UNKNOWN_TASK_TYPE
            tallies.setdefault(task_type, _Tally()).add(result)
        for task_type, tally in tallies.items():
            self._flush(task_type, tally)

    def _flush(self, task_type: str, tally: _Tally) -> None:
        from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

        metrics = EphemeralMetrics(namespace=self.namespace, service=self.service)
        metrics.add_dimension(name=DIMENSION, value=task_type)
        counts = {
            "TasksSucceeded": tally.succeeded,
            "TasksFailed": tally.failed,
            "TasksRetried": tally.retried,
            "TasksCancelled": tally.cancelled,
            "TasksDuplicate": tally.duplicate,
        }
        for name, count in counts.items():
            if count:
                metrics.add_metric(name=name, unit=MetricUnit.Count, value=count)
        for duration in tally.durations:
            metrics.add_metric(name="TaskDuration", unit=MetricUnit.Milliseconds, value=duration)
        if metrics.metric_set:
            metrics.flush_metrics()

"""Forwarding: a task that reached the wrong queue is sent on to its own, never run here.

A producer that routes by stale settings (an old deploy, a hand-set queue URL) can put a
task on a queue whose consumer must not run it: a 40-minute transcode on a Lambda queue.
The dispatcher never runs such a task on a consumer that knows its queue
(``TASKWORKER_QUEUE``); it gives it ``WrongQueue`` outcome. This first ``after_batch``
step then sends each of those messages, unchanged (body, typed attributes, and the
``task_id`` attribute so the task keeps the id its client got), to the queue the task is
declared on, through the batch helper. Once SQS acknowledged the copy the result is
``forwarded``: the core deletes the original and no later step reports it (the consumer
of its own queue will). A message whose queue has no URL in ``TASKWORKER_QUEUE_URLS``, or
whose copy SQS did not take, keeps its outcome: retried with backoff, then dead-lettered
with its ``WrongQueue`` reason. Nothing is run in the wrong place, and nothing is lost.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from taskworker.aws.batch import DEFAULT_POLICY, SEND_MESSAGES, RetryPolicy, call_batch
from taskworker.dispatch import WRONG_QUEUE
from taskworker.log import SupportsLogging
from taskworker.messages import TASK_ID, typed_attributes
from taskworker.middleware.base import Middleware
from taskworker.outcomes import Failed, RetryLater, TaskResult

if TYPE_CHECKING:
    from taskworker.registry import TaskDefinition


class Forwarding(Middleware):
    """Sends each ``WrongQueue`` message of a batch to its task's queue; see the module docstring.

    ``queue_urls`` are the other queues' URLs by name (the consumer's own queue is left
    out: a copy sent there would only come back).
    """

    def __init__(
        self,
        queue_urls: Mapping[str, str],
        sqs: Callable[[], Any],
        logger: SupportsLogging,
        *,
        policy: RetryPolicy = DEFAULT_POLICY,
    ) -> None:
        self.queue_urls = dict(queue_urls)
        self._sqs = sqs
        self.logger = logger
        self.policy = policy

    def applies_to(self, task: TaskDefinition) -> bool:
        return False  # no per-task hooks: it acts on whole batches only

    def after_batch(self, results: Sequence[TaskResult]) -> None:
        by_queue: dict[str, list[TaskResult]] = {}
        for result in results:
            if _wrong_queue(result):
                assert result.task is not None
                by_queue.setdefault(result.task.queue, []).append(result)
        for queue, misrouted in by_queue.items():
            self._forward(queue, misrouted)

    def _forward(self, queue: str, results: list[TaskResult]) -> None:
        url = self.queue_urls.get(queue)
        if url is None:
            self._log(30, "tasks of another queue reached this consumer; its URL is unknown", queue, results)
            return
        sent = call_batch(
            self._sqs(), SEND_MESSAGES, url, results, lambda r: _entry(r, url), policy=self.policy
        )
        for result, _ in sent.succeeded:
            result.forwarded = True
        if sent.succeeded:
            self._log(
                30, "forwarded tasks of another queue to their queue", queue, [r for r, _ in sent.succeeded]
            )
        if sent.failed:
            self._log(
                40,
                "could not forward tasks to their queue; they stay here and are retried",
                queue,
                [r for r, _ in sent.failed],
                errors=sent.codes(),
            )

    def _log(self, level: int, text: str, queue: str, results: list[TaskResult], **extra: Any) -> None:
        extra.update(queue=queue, task_ids=[r.message.task_id for r in results])
        self.logger.log(level, text, extra=extra)


def _wrong_queue(result: TaskResult) -> bool:
    outcome = result.outcome
    return (
        result.task is not None
        and isinstance(outcome, RetryLater | Failed)
        and outcome.error.type == WRONG_QUEUE
    )


def _entry(result: TaskResult, url: str) -> dict[str, Any]:
    """The message as it came, with its task id made explicit for the next consumer."""
    message = result.message
    attributes = typed_attributes(message)
    attributes.setdefault(TASK_ID, {"DataType": "String", "StringValue": message.task_id})
    entry: dict[str, Any] = {"MessageBody": message.body, "MessageAttributes": attributes}
    if url.endswith(".fifo"):
        task = result.task
        assert task is not None
        entry["MessageGroupId"] = message.group_id or task.group
        entry["MessageDeduplicationId"] = message.task_id[:128]
    return entry

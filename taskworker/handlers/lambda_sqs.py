"""The Lambda runtime: an SQS event in, ``{"batchItemFailures": [...]}`` out.

An adapter over the core: it converts each record to a :class:`TaskMessage`, dispatches it,
hands the batch to the core's ``finish_batch`` (the ``after_batch`` chain, then one
settlement per message, see :mod:`taskworker.settlement`) and applies what was decided:
retry delays with ChangeMessageVisibilityBatch, everything not done reported as a batch item
failure. It decides nothing about tasks.

Why no powertools ``BatchProcessor`` any more: of what it does, the core now decides all
that matters (when a record counts as processed, the FIFO rule, which has to run *after*
``finish_batch``), and each thing it added had to be worked around (it raises when every
record fails, raises ``KeyError`` on a record without ``messageId``, has no deadline check,
calls ``inspect.signature`` on every invocation). What is left is a loop over records,
cheaper written here (see ``python -m benchmarks lambda_handler``) and without the 179 ms
import of the batch utility at cold start.

The invocation's time bounds everything: tasks are not started unless their timeout plus
the deadline margin and ``settle_seconds`` are left, and the AWS calls fit what is left by
one rule, applied to the whole invocation and again, with the time then left, to the
settlement (``finish_batch`` and the visibility changes):

- the last :data:`CALL_MARGIN_SHARE` of the time left is the *margin*; every single AWS
  call times out within it (``Clients.time_limit``, one attempt per call);
- retries stop at the margin: :func:`taskworker.aws.batch.time_budget` cuts every retry
  policy to the time left minus the margin, and no call is started after it.

So the call in flight when the budget ends still ends before the deadline, however many
calls the settlement makes and whatever their policies: an endpoint that never answers or
answers 500 every time costs the records it concerns (reported as batch item failures),
never the whole batch.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from taskworker.aws.batch import time_budget
from taskworker.context import Deadline
from taskworker.errors import AppLoadError
from taskworker.handlers.visibility import change_visibility
from taskworker.log import invocation
from taskworker.messages import TaskMessage
from taskworker.outcomes import TaskResult
from taskworker.settlement import Settlement, held_behind_group

if TYPE_CHECKING:
    from taskworker.app import TaskApp
    from taskworker.aws import Clients
    from taskworker.dispatch import Dispatcher
    from taskworker.handlers.visibility import QueueVisibility

APP_ENVIRONMENT_VARIABLE = "TASKWORKER_APP"
SQS_EVENT_SOURCE = "aws:sqs"
Bound = AbstractContextManager[None]
_SQS_OR_UNSPECIFIED = frozenset({SQS_EVENT_SOURCE, None})
"""A record's ``eventSource`` (SNS spells it ``EventSource``) that is taken as SQS: ``None``,
a record with neither, is a malformed SQS record, reported and never dropped."""
CALL_MARGIN_SHARE = 0.2
"""The share of the time left kept as the margin for the last AWS call in flight; see the
module docstring."""


class LambdaSqsRuntime:
    """Feeds Lambda SQS events to the core and maps its settlements to the response."""

    def __init__(self, core: Dispatcher, clients: Clients, queues: QueueVisibility) -> None:
        self.core = core
        self.clients = clients
        self.queues = queues
        self.logger = core.logger

    def handle(self, event: Any, context: Any) -> dict[str, Any]:
        records = self._records(event)
        if not records:
            return {"batchItemFailures": []}
        deadline = Deadline.from_lambda_context(context)
        budget, limit = self._call_bounds(deadline)
        with invocation(getattr(context, "aws_request_id", None)), budget, limit:
            settlements = self._run_batch(records, deadline)
        failures = [{"itemIdentifier": s.result.message.message_id} for s in settlements if not s.delete]
        if len(settlements) < len(records):
            unidentified = [r for r in records if not _message_id(r)]
            failures += [{"itemIdentifier": self._report_unidentified(r)} for r in unidentified]
        return {"batchItemFailures": failures}

    def _records(self, event: Any) -> list[Mapping[str, Any]]:
        """The event's SQS records; anything else is logged and processes nothing."""
        raw = event.get("Records") if isinstance(event, Mapping) else None
        if not isinstance(raw, list):
            self._not_sqs("expected a mapping with a 'Records' list", type(event).__name__)
            return []
        records = [r if type(r) is dict or isinstance(r, Mapping) else {"body": repr(r)} for r in raw]
        sources = {r.get("eventSource", r.get("EventSource")) for r in records}
        if not sources <= _SQS_OR_UNSPECIFIED:
            foreign = sources - _SQS_OR_UNSPECIFIED
            self._not_sqs(f"eventSource {sorted(map(str, foreign))}", type(event).__name__)
            return []
        return records

    def _not_sqs(self, why: str, event_type: str) -> None:
        self.logger.log(40, f"not an SQS event ({why}); nothing processed", extra={"event_type": event_type})

    def _call_bounds(self, deadline: Deadline) -> tuple[Bound, Bound]:
        """Retries end a margin before the deadline; each call ends within the margin.

        Both to be entered together (``with budget, limit:``); a context without a deadline
        keeps the policies' own budgets.
        """
        left = deadline.remaining()
        margin = left * CALL_MARGIN_SHARE
        budget = nullcontext() if math.isinf(left) else time_budget(left - margin)
        return budget, self.clients.time_limit(margin)

    def _run_batch(self, records: list[Mapping[str, Any]], deadline: Deadline) -> list[Settlement]:
        """Dispatch in order, then settle; a FIFO group stops at its first message not done.

        Messages held behind their group are not started: they skip ``finish_batch`` and
        go back at once, behind the message that holds them.
        """
        task_deadline = deadline.reserving(self.core.settings.settle_seconds)
        max_receives = self.queues.max_receive_count
        dispatch, from_record = self.core.dispatch, TaskMessage.from_lambda_record
        blocked: set[str] = set()
        results: list[TaskResult] = []
        held: list[Settlement] = []
        for record in records:
            if not _message_id(record):
                continue
            message = from_record(record)
            group = message.group_id
            if group is None:  # a standard queue: no FIFO bookkeeping
                results.append(dispatch(message, task_deadline, max_receives=max_receives))
                continue
            if group in blocked:
                held.append(held_behind_group(message))
                continue
            result = dispatch(message, task_deadline, max_receives=max_receives)
            if not result.may_be_done:
                blocked.add(group)
            results.append(result)
        budget, limit = self._call_bounds(deadline)
        with budget, limit:
            settlements = self.core.finish_batch(results) + held
            self._apply(settlements)
        return settlements

    def _apply(self, settlements: list[Settlement]) -> None:
        """Retry delays with ChangeMessageVisibilityBatch, per queue; best effort: a message
        whose change fails still returns when its visibility timeout ends."""
        by_queue: dict[str, list[tuple[str, float]]] = {}
        for settlement in settlements:
            message = settlement.result.message
            if settlement.delay is not None and message.queue_arn and message.receipt_handle:
                by_queue.setdefault(message.queue_arn, []).append((message.receipt_handle, settlement.delay))
        for arn, changes in by_queue.items():
            url = self.queues.queue_url(arn)
            failed = change_visibility(self.clients.sqs, url, changes) if url else changes
            if failed:
                self.logger.log(
                    30,
                    "could not change visibility; messages return after their timeout",
                    extra={"queue_arn": arn, "messages": len(failed)},
                )

    def _report_unidentified(self, record: Mapping[str, Any]) -> str:
        """A record without messageId cannot be reported precisely; Lambda then retries the
        whole batch, which loses nothing (idempotency absorbs the repeats)."""
        identifier = str(record.get("receiptHandle") or record.get("md5OfBody") or "")
        self.logger.log(
            40,
            "SQS record without messageId; reported as failed by whatever id it has",
            extra={"item_identifier": identifier},
        )
        return identifier


def _message_id(record: Mapping[str, Any]) -> str:
    value = record.get("messageId")
    return value if isinstance(value, str) else ""


_default: dict[str, TaskApp] = {}


def handler(event: Any, context: Any) -> dict[str, Any]:
    """A ready Lambda handler for the app named by ``TASKWORKER_APP`` (``module:attribute``).

    Lets infrastructure point every function at ``taskworker.handlers.lambda_sqs.handler``
    without a handler module of its own. The app is loaded at the first call (cold start);
    an unset or wrong variable fails that call with one line naming it.
    """
    app = _default.get("app")
    if app is None:
        app = _default["app"] = default_app()
    return app.lambda_handler(event, context)


def default_app() -> TaskApp:
    """The app ``TASKWORKER_APP`` names, or an :class:`AppLoadError` saying what to set."""
    from taskworker.app import load_app

    path = os.environ.get(APP_ENVIRONMENT_VARIABLE, "").strip()
    if not path:
        raise AppLoadError(
            f"{APP_ENVIRONMENT_VARIABLE} is not set: set it to the app as 'module:attribute', "
            "e.g. TASKWORKER_APP=mypkg.tasks:app"
        )
    try:
        return load_app(path)
    except AppLoadError as exc:
        hint = "" if "'module:attribute'" in str(exc) else "; expected the app as 'module:attribute'"
        raise AppLoadError(f"{APP_ENVIRONMENT_VARIABLE}={path}: {exc}{hint}") from None

"""The Lambda runtime: an SQS event in, ``{"batchItemFailures": [...]}`` out.

Built on powertools' ``BatchProcessor`` (``SqsFifoPartialProcessor`` for FIFO queues, so a
failure stops the rest of its message group and nothing else). Around it, this module adds
what powertools does not do and a consumer needs:

- a bad event or record never raises: it is reported, so SQS retries or redrives it;
- a batch in which every record fails is returned, not raised, so the DLQ path works;
- the dispatcher's deadline guard sees the invocation's remaining time, so a task that
  cannot finish is not started (Lambda would kill it and retry the whole batch);
- retry delays are applied with ChangeMessageVisibilityBatch;
- permanent failures count as processed only once they are safely in the DLQ.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    SqsFifoPartialProcessor,
    process_partial_response,
)

from taskworker.context import Deadline
from taskworker.handlers.visibility import QueueVisibility
from taskworker.messages import TaskMessage
from taskworker.outcomes import Failed, Succeeded, TaskResult

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from taskworker.app import TaskApp

APP_ENVIRONMENT_VARIABLE = "TASKWORKER_APP"


class TaskNotDoneError(Exception):
    """Raised into powertools for a record that must come back (keeps FIFO groups ordered)."""


class LambdaSqsRuntime:
    """Feeds Lambda SQS events to an app's dispatcher and maps outcomes to the response."""

    def __init__(self, app: TaskApp) -> None:
        self.app = app
        self.visibility = QueueVisibility(app)
        self._processors = threading.local()

    def handle(self, event: Any, context: Any) -> dict[str, Any]:
        records = self._records(event)
        if not records:
            return {"batchItemFailures": []}
        identified = [r for r in records if _message_id(r)]
        results = self._process(identified, context) if identified else []
        self.app.finish_batch(results)
        self.visibility.apply(results)
        done = {result.message.task_id for result in results if result.done}
        failures = [{"itemIdentifier": r["messageId"]} for r in identified if r["messageId"] not in done]
        if len(identified) < len(records):
            unidentified = [r for r in records if not _message_id(r)]
            failures += [{"itemIdentifier": self._report_unidentified(r)} for r in unidentified]
        return {"batchItemFailures": failures}

    def _records(self, event: Any) -> list[Mapping[str, Any]]:
        raw = event.get("Records") if isinstance(event, Mapping) else None
        if not isinstance(raw, list):
            self.app.logger.log(
                40,
                "not an SQS event: expected a mapping with a 'Records' list; nothing processed",
                extra={"event_type": type(event).__name__},
            )
            return []
        return [r if type(r) is dict or isinstance(r, Mapping) else {"body": repr(r)} for r in raw]

    def _process(self, records: list[Mapping[str, Any]], context: Any) -> list[TaskResult]:
        deadline = Deadline.from_lambda_context(context)
        dispatch = self.app.dispatcher.dispatch
        max_receives = self.visibility.max_receive_count
        results: list[TaskResult] = []

        def record_handler(record: SQSRecord) -> None:
            message = TaskMessage.from_lambda_record(record.raw_event)
            result = dispatch(message, deadline, max_receives=max_receives)
            results.append(result)
            outcome = result.outcome
            if isinstance(outcome, Succeeded) or (isinstance(outcome, Failed) and outcome.permanent):
                return  # permanent failures are settled after the batch, through the DLQ
            raise TaskNotDoneError(outcome.error.type)

        process_partial_response(
            event={"Records": records},
            record_handler=record_handler,
            processor=self._processor(records),
            context=context,
        )
        return results

    def _processor(self, records: Sequence[Mapping[str, Any]]) -> BatchProcessor:
        """One processor per kind and thread, reused: powertools resets it on each call."""
        fifo = str(records[0].get("eventSourceARN", "")).endswith(".fifo")
        processor: BatchProcessor | None = getattr(self._processors, "fifo" if fifo else "standard", None)
        if processor is None:
            if fifo:
                processor = SqsFifoPartialProcessor(skip_group_on_error=True)
            else:
                processor = BatchProcessor(event_type=EventType.SQS)
            processor.raise_on_entire_batch_failure = False  # failures are reported, never raised
            setattr(self._processors, "fifo" if fifo else "standard", processor)
        return processor

    def _report_unidentified(self, record: Mapping[str, Any]) -> str:
        """A record without messageId cannot be reported precisely; Lambda then retries the
        whole batch, which loses nothing (idempotency absorbs the repeats)."""
        identifier = str(record.get("receiptHandle") or record.get("md5OfBody") or "")
        self.app.logger.log(
            40,
            "SQS record without messageId; reported as failed by whatever id it has",
            extra={"item_identifier": identifier},
        )
        return identifier


def _message_id(record: Mapping[str, Any]) -> str:
    value = record.get("messageId")
    return value if isinstance(value, str) else ""


_default_runtime: dict[str, TaskApp] = {}


def handler(event: Any, context: Any) -> dict[str, Any]:
    """A ready Lambda handler for the app named by ``TASKWORKER_APP`` (``module:attribute``).

    Lets infrastructure point every function at ``taskworker.handlers.lambda_sqs.handler``
    without a handler module of its own.
    """
    app = _default_runtime.get("app")
    if app is None:
        from taskworker.app import load_app

        app = _default_runtime["app"] = load_app(os.environ[APP_ENVIRONMENT_VARIABLE])
    return app.lambda_handler(event, context)

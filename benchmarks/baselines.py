"""What a team would write without taskworker, doing the same work on the same events.

Both baselines validate the body into the same model, call the same task function and
report failures as ``batchItemFailures``; neither routes by task type, checks a deadline
or classifies errors, which is the work taskworker adds and the ratio prices.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from benchmarks.workload import Touch, touch


def hand_written(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The minimal correct loop: ``json.loads`` + ``model_validate``, failures collected."""
    failures = []
    for record in event["Records"]:
        try:
            touch(Touch.model_validate(json.loads(record["body"])))
        except Exception:
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


_processor = BatchProcessor(event_type=EventType.SQS)
"""Module level, as powertools' documentation sets it up."""


def _record_handler(record: SQSRecord) -> None:
    touch(Touch.model_validate_json(record.body))


def powertools(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """powertools' documented pattern: ``BatchProcessor`` + ``process_partial_response``."""
    return process_partial_response(
        event=event, record_handler=_record_handler, processor=_processor, context=context
    )

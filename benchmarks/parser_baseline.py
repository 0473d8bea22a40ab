"""powertools' idiomatic typed consumer: ``BatchProcessor`` with a parser model.

What a team that wants a typed body writes with powertools alone: the record parsed by
``SqsRecordModel`` with a ``Json[...]`` body (the parser documentation's pattern), the
batch utility collecting failures. It is the Lambda baseline taskworker is held to
(at most 1.1x). Kept apart from :mod:`benchmarks.baselines` because importing the parser
models costs about 280 ms, which would spoil the plain powertools import baseline.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import Json

from benchmarks.workload import Touch, touch


class TouchRecord(SqsRecordModel):
    body: Json[Touch]  # type: ignore[assignment]  # narrowing str to the parsed model is the pattern


_processor = BatchProcessor(event_type=EventType.SQS, model=TouchRecord)
"""Module level, as powertools' documentation sets it up."""


def _record_handler(record: TouchRecord) -> None:
    touch(record.body)


def powertools_parser(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``process_partial_response`` with the parser model: every record validated whole."""
    return process_partial_response(
        event=event, record_handler=_record_handler, processor=_processor, context=context
    )

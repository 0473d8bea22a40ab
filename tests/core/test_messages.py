"""The wire format: both spellings of a message become the same TaskMessage."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taskworker.messages import TaskMessage, message_size, queue_url_from_arn
from taskworker.testing import sqs_record

scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
attribute_values = (
    scalars
    | st.fixed_dictionaries({"stringValue": scalars})
    | st.dictionaries(st.text(max_size=5), scalars, max_size=2)
)


@st.composite
def mutated_records(draw: st.DrawFn) -> dict[str, Any]:
    record: dict[str, Any] = sqs_record(
        {"n": 1}, task_type=draw(st.sampled_from(["a.b", "c"])), group_id=draw(st.none() | st.just("g"))
    )
    for key in draw(st.sets(st.sampled_from(sorted(record)), max_size=3)):
        if draw(st.booleans()):
            del record[key]
        else:
            record[key] = draw(scalars | st.dictionaries(st.text(max_size=5), attribute_values, max_size=2))
    return record


@given(mutated_records())
def test_fast_and_tolerant_parsing_agree_on_any_record(record: dict[str, Any]) -> None:
    """The hot path's fast parser must never disagree with the tolerant one."""
    assert TaskMessage.from_lambda_record(record) == TaskMessage._from_any_lambda_record(record)


def test_lambda_and_sqs_api_spellings_give_the_same_message() -> None:
    record = sqs_record({"n": 1}, task_type="a.b", idempotency_key="k", receive_count=3, group_id="g")
    api_message = {
        "MessageId": record["messageId"],
        "ReceiptHandle": record["receiptHandle"],
        "Body": record["body"],
        "Attributes": record["attributes"],
        "MessageAttributes": {
            name: {"DataType": "String", "StringValue": value["stringValue"]}
            for name, value in record["messageAttributes"].items()
        },
    }
    from_lambda = TaskMessage.from_lambda_record(record)
    assert TaskMessage.from_sqs_message(api_message, queue_arn=record["eventSourceARN"]) == from_lambda
    assert (from_lambda.task_type, from_lambda.idempotency_key, from_lambda.receive_count) == ("a.b", "k", 3)
    assert from_lambda.group_id == "g"


def test_binary_attributes_are_ignored_not_fatal() -> None:
    record = sqs_record({"n": 1}, task_type="a.b")
    record["messageAttributes"]["blob"] = {"binaryValue": "AAE=", "dataType": "Binary"}
    assert TaskMessage.from_lambda_record(record).attributes == {"task_type": "a.b"}


def test_message_size_counts_body_and_attributes_like_sqs() -> None:
    assert (
        message_size("héllo", {"task_type": "a"})
        == len("héllo".encode()) + len("task_type") + len("String") + 1
    )


def test_queue_url_from_arn() -> None:
    assert queue_url_from_arn("arn:aws:sqs:eu-west-1:111122223333:jobs") == (
        "https://sqs.eu-west-1.amazonaws.com/111122223333/jobs"
    )


def test_dead_letter_copy_drops_attributes_rather_than_exceed_the_size_limit() -> None:
    from taskworker.messages import MAX_MESSAGE_BYTES, dead_letter_attributes, typed_message_size

    record = sqs_record(task_type="a.b", correlation_id="c" * 200)
    record["body"] = "x" * (MAX_MESSAGE_BYTES - 300)
    message = TaskMessage.from_lambda_record(record)
    attributes = dead_letter_attributes(message, "PermanentError", "e" * 900)
    assert typed_message_size(message.body, attributes) <= MAX_MESSAGE_BYTES
    assert attributes["task_type"]["StringValue"] == "a.b"
    assert attributes["error_type"]["StringValue"] == "PermanentError"

    small = TaskMessage.from_lambda_record(sqs_record({"n": 1}, task_type="a.b", correlation_id="c"))
    kept = dead_letter_attributes(small, "PermanentError", "boom")
    assert set(kept) == {"task_id", "error_type", "error_message", "task_type", "failed_at", "correlation_id"}


def test_a_task_id_attribute_names_the_task_and_the_message_id_stays_sqs_side() -> None:
    record = sqs_record({"n": 1}, message_attributes={"task_type": "a.b", "task_id": "original-1"})
    for message in (TaskMessage.from_lambda_record(record), TaskMessage._from_any_lambda_record(record)):
        assert (message.task_id, message.message_id) == ("original-1", record["messageId"])
    api = TaskMessage.from_sqs_message(
        {
            "MessageId": "m-2",
            "Body": "{}",
            "MessageAttributes": {"task_id": {"DataType": "String", "StringValue": "original-1"}},
        }
    )
    assert (api.task_id, api.message_id) == ("original-1", "m-2")


@pytest.mark.parametrize("bad", ["", "has space", "new\nline", "x" * 129, "é"])
def test_an_invalid_task_id_attribute_is_ignored_and_logged(
    bad: str, caplog: pytest.LogCaptureFixture
) -> None:
    record = sqs_record({"n": 1}, message_attributes={"task_type": "a.b", "task_id": bad})
    with caplog.at_level(logging.WARNING, logger="taskworker.messages"):
        message = TaskMessage.from_lambda_record(record)
    assert message.task_id == message.message_id == record["messageId"]
    assert any("invalid task_id" in r.getMessage() for r in caplog.records)
    assert all(bad not in r.getMessage() for r in caplog.records if bad)


def test_a_message_built_directly_is_its_own_message_id() -> None:
    assert TaskMessage("t-1", "{}").message_id == "t-1"

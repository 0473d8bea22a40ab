"""What the batch helper's callers do with what it reports (moto over HTTP, no patching)."""

from __future__ import annotations

from typing import Any

import boto3

from taskworker.handlers.settle import delete_messages
from taskworker.handlers.visibility import change_visibility


def _queue(moto_endpoint: str, name: str) -> tuple[Any, str]:
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint, region_name="us-east-1")
    return sqs, sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "30"})["QueueUrl"]


def _receive(sqs: Any, url: str) -> dict[str, Any]:
    [message] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
    return dict(message)


def test_a_refused_stale_receipt_handle_is_reported_by_change_visibility(moto_endpoint: str) -> None:
    sqs, url = _queue(moto_endpoint, "stale-visibility")
    sqs.send_message(QueueUrl=url, MessageBody="x")
    first = _receive(sqs, url)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0)
    second = _receive(sqs, url)  # received again: the first handle is stale now
    sqs.delete_message(QueueUrl=url, ReceiptHandle=second["ReceiptHandle"])
    sqs.send_message(QueueUrl=url, MessageBody="y")
    live = _receive(sqs, url)

    failed = change_visibility(sqs, url, [(first["ReceiptHandle"], 60), (live["ReceiptHandle"], 60)])

    assert failed == [first["ReceiptHandle"]]


def test_delete_messages_returns_what_sqs_refused(moto_endpoint: str) -> None:
    sqs, url = _queue(moto_endpoint, "stale-delete")
    sqs.send_message(QueueUrl=url, MessageBody="x")
    live = _receive(sqs, url)

    lost = delete_messages(sqs, url, ["not-a-receipt-handle", live["ReceiptHandle"]])

    assert lost == ["not-a-receipt-handle"]
    assert "Messages" not in sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)


def test_faulty_client_fails_whole_calls_entries_and_raises_given_errors_on_a_moto_client(
    moto_endpoint: str,
) -> None:
    import pytest

    from taskworker.testing.faults import FaultyClient

    real, url = _queue(moto_endpoint, "faulty")
    sqs = FaultyClient(real)
    sqs.fail_next("SendMessageBatch", count=1, code="QueueDoesNotExist")
    sqs.fail_next("send_message_batch", entries={"1"}, code="InternalError")
    sqs.fail_next("GetQueueAttributes", error=ConnectionResetError("reset"))
    entries = [{"Id": str(i), "MessageBody": str(i)} for i in range(3)]

    with pytest.raises(real.exceptions.QueueDoesNotExist):
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    answer = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    with pytest.raises(ConnectionResetError):
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])

    assert sorted(s["Id"] for s in answer["Successful"]) == ["0", "2"]
    assert [(f["Id"], f["Code"], f["SenderFault"]) for f in answer["Failed"]] == [
        ("1", "InternalError", False)
    ]
    assert sqs.calls["SendMessageBatch"] == 2
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]  # passes again

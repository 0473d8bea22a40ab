"""The fault proxy itself: it selects by service and operation, and each fault does what it says."""

from __future__ import annotations

import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from tests.faults.proxy import FaultKind, FaultProxy

ONE_TRY = Config(retries={"mode": "standard", "total_max_attempts": 1})


def client(service: str, proxy: FaultProxy) -> object:
    return boto3.client(service, endpoint_url=proxy.url, region_name="us-east-1", config=ONE_TRY)


def test_requests_pass_through_and_are_counted_by_service_and_operation(proxy: FaultProxy) -> None:
    sqs, sns = client("sqs", proxy), client("sns", proxy)

    url = sqs.create_queue(QueueName=f"p-{uuid.uuid4().hex[:8]}")["QueueUrl"]  # type: ignore[attr-defined]
    sqs.send_message(QueueUrl=url, MessageBody="x")  # type: ignore[attr-defined]
    sns.list_topics()  # type: ignore[attr-defined]

    assert proxy.calls[("sqs", "CreateQueue")] == 1
    assert proxy.calls[("sqs", "SendMessage")] == 1
    assert proxy.calls[("sns", "ListTopics")] == 1


def test_an_error_fault_answers_500_only_for_its_operation(proxy: FaultProxy) -> None:
    sqs = client("sqs", proxy)
    url = sqs.create_queue(QueueName=f"p-{uuid.uuid4().hex[:8]}")["QueueUrl"]  # type: ignore[attr-defined]
    proxy.inject("sqs", "SendMessage", "error", times=1)

    with pytest.raises(ClientError) as caught:
        sqs.send_message(QueueUrl=url, MessageBody="x")  # type: ignore[attr-defined]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    sqs.send_message(QueueUrl=url, MessageBody="x")  # the fault was used up
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])  # type: ignore[attr-defined]


@pytest.mark.parametrize(("kind", "arrived"), [("reset", False), ("drop", True)])
def test_reset_forwards_nothing_and_drop_forwards_then_loses_the_answer(
    proxy: FaultProxy, kind: FaultKind, arrived: bool
) -> None:
    sqs = client("sqs", proxy)
    url = sqs.create_queue(QueueName=f"p-{uuid.uuid4().hex[:8]}")["QueueUrl"]  # type: ignore[attr-defined]
    proxy.inject("sqs", "SendMessage", kind, times=1)

    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        sqs.send_message(QueueUrl=url, MessageBody="x")  # type: ignore[attr-defined]

    messages = sqs.receive_message(QueueUrl=url).get("Messages", [])  # type: ignore[attr-defined]
    assert [m["Body"] for m in messages] == (["x"] if arrived else [])
    assert proxy.injected[("sqs", "SendMessage", kind)] == 1

"""Tests for FakeSQS: unit tests with a manual clock, then parity tests against moto.

The unit tests pin the semantics a consumer relies on (visibility, receive
counts, redrive, FIFO, limits, error codes).  The parity tests at the bottom
run identical scenarios against FakeSQS and a boto3 client on moto's server
and compare the observable results.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from taskworker.testing.fake_sqs import (
    FakeSQS,
    ManualClock,
    md5_of_message_attributes,
)

# ----------------------------------------------------------------------------- helpers


def error_of(call: Callable[[], Any]) -> dict[str, Any]:
    """Run ``call``, expecting a ClientError; return its ``Error`` dict."""
    with pytest.raises(ClientError) as info:
        call()
    return dict(info.value.response["Error"])


def make_queue(sqs: FakeSQS, name: str = "q", **attributes: str) -> str:
    return str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])


def receive(sqs: Any, url: str, **kwargs: Any) -> list[dict[str, Any]]:
    return list(sqs.receive_message(QueueUrl=url, **kwargs).get("Messages", []))


def counts(sqs: Any, url: str) -> tuple[int, int, int]:
    attrs = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return (
        int(attrs["ApproximateNumberOfMessages"]),
        int(attrs["ApproximateNumberOfMessagesNotVisible"]),
        int(attrs["ApproximateNumberOfMessagesDelayed"]),
    )


def fifo_queue(sqs: FakeSQS, name: str = "f.fifo", **attributes: str) -> str:
    return make_queue(sqs, name, FifoQueue="true", **attributes)


# ----------------------------------------------------------------------- ManualClock


def test_manual_clock_advances_and_refuses_to_go_back() -> None:
    clock = ManualClock(start=10.0)
    clock.advance(2.5)
    assert clock() == 12.5
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)


# ------------------------------------------------------------------- queue management


def test_queue_url_arn_and_get_queue_url(sqs: FakeSQS) -> None:
    url = make_queue(sqs, "jobs")
    assert url == "https://sqs.us-east-1.amazonaws.com/123456789012/jobs"
    assert sqs.get_queue_url(QueueName="jobs")["QueueUrl"] == url
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    assert arn == {"QueueArn": "arn:aws:sqs:us-east-1:123456789012:jobs"}
    assert sqs.queue_arn(url) == arn["QueueArn"]


def test_region_and_account_shape_urls() -> None:
    sqs = FakeSQS(region="eu-west-1", account_id="111122223333")
    url = make_queue(sqs, "x")
    assert url == "https://sqs.eu-west-1.amazonaws.com/111122223333/x"
    assert sqs.queue_arn(url) == "arn:aws:sqs:eu-west-1:111122223333:x"


def test_missing_queue_raises_modeled_exception_with_query_code(sqs: FakeSQS) -> None:
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as info:
        sqs.get_queue_url(QueueName="nope")
    error = info.value.response["Error"]
    assert error["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert error["QueryErrorCode"] == "QueueDoesNotExist"
    assert error["Type"] == "Sender"
    assert info.value.operation_name == "GetQueueUrl"
    assert isinstance(info.value, ClientError)
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/nope"
    assert error_of(lambda: sqs.send_message(QueueUrl=url, MessageBody="x"))["Code"] == (
        "AWS.SimpleQueueService.NonExistentQueue"
    )


# --------------------------------------------------------------------------- sending


def test_send_message_response_shape_and_md5s(sqs: FakeSQS) -> None:
    url = make_queue(sqs)
    plain = sqs.send_message(QueueUrl=url, MessageBody="hello")
    assert plain["MD5OfMessageBody"] == "5d41402abc4b2a76b9719d911017c592"
    assert set(plain) == {"MD5OfMessageBody", "MessageId", "ResponseMetadata"}
    assert plain["ResponseMetadata"]["HTTPStatusCode"] == 200
    attrs = {
        "a": {"DataType": "String", "StringValue": "x"},
        "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        "n": {"DataType": "Number.int", "StringValue": "5"},
    }
    sent = sqs.send_message(QueueUrl=url, MessageBody="hi", MessageAttributes=attrs)
    # Reference value produced by moto's server for the same attributes (see parity tests).
    assert sent["MD5OfMessageAttributes"] == "a3432800a91149982c1ada4320198f29"
    assert sent["MessageId"] != plain["MessageId"]


def test_md5_of_message_attributes_is_order_independent() -> None:
    one = {"b": {"DataType": "String", "StringValue": "2"}, "a": {"DataType": "String", "StringValue": "1"}}
    two = dict(reversed(list(one.items())))
    assert md5_of_message_attributes(one) == md5_of_message_attributes(two)


@settings(max_examples=40, deadline=None)
@given(
    body=st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), min_codepoint=0x20),
        min_size=1,
        max_size=50,
    ),
    values=st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True),
        st.text(
            alphabet=st.characters(blacklist_categories=("Cs",), min_codepoint=0x20), min_size=1, max_size=20
        ),
        max_size=5,
    ),
)
def test_round_trip_preserves_body_attributes_and_md5(body: str, values: dict[str, str]) -> None:
    sqs = FakeSQS(clock=ManualClock())
    url = make_queue(sqs)
    attrs = {k: {"DataType": "String", "StringValue": v} for k, v in values.items()}
    sent = sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attrs)
    (msg,) = receive(sqs, url, MessageAttributeNames=["All"])
    assert msg["Body"] == body
    assert msg["MD5OfBody"] == sent["MD5OfMessageBody"]
    assert msg.get("MessageAttributes", {}) == attrs
    assert msg.get("MD5OfMessageAttributes") == sent.get("MD5OfMessageAttributes")


def test_send_message_batch_reports_each_entry(sqs: FakeSQS) -> None:
    url = make_queue(sqs)
    result = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "ok", "MessageBody": "a"},
            {"Id": "bad", "MessageBody": "b", "DelaySeconds": 5000},
            {
                "Id": "ok2",
                "MessageBody": "c",
                "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}},
            },
        ],
    )
    assert [e["Id"] for e in result["Successful"]] == ["ok", "ok2"]
    assert set(result["Successful"][0]) == {"Id", "MessageId", "MD5OfMessageBody"}
    assert "MD5OfMessageAttributes" in result["Successful"][1]
    (failed,) = result["Failed"]
    assert failed["Id"] == "bad"
    assert failed["SenderFault"] is True
    assert failed["Code"] == "InvalidParameterValue"
    assert counts(sqs, url) == (2, 0, 0)


# ------------------------------------------------------------------------- receiving


def test_receive_empty_queue_has_no_messages_key(sqs: FakeSQS) -> None:
    url = make_queue(sqs)
    response = sqs.receive_message(QueueUrl=url)
    assert "Messages" not in response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_visibility_timeout_hides_then_redelivers_with_new_handle(sqs: FakeSQS, clock: ManualClock) -> None:
    url = make_queue(sqs, VisibilityTimeout="30")
    sqs.send_message(QueueUrl=url, MessageBody="job")
    (first,) = receive(sqs, url, AttributeNames=["ApproximateReceiveCount"])
    assert first["Attributes"] == {"ApproximateReceiveCount": "1"}
    assert counts(sqs, url) == (0, 1, 0)
    clock.advance(29.9)
    assert receive(sqs, url) == []
    clock.advance(0.1)
    (second,) = receive(sqs, url, MessageSystemAttributeNames=["All"])
    assert second["MessageId"] == first["MessageId"]
    assert second["ReceiptHandle"] != first["ReceiptHandle"]
    assert second["Attributes"]["ApproximateReceiveCount"] == "2"


def test_receive_visibility_timeout_override(sqs: FakeSQS, clock: ManualClock) -> None:
    url = make_queue(sqs, VisibilityTimeout="300")
    sqs.send_message(QueueUrl=url, MessageBody="job")
    receive(sqs, url, VisibilityTimeout=5)
    clock.advance(5)
    assert len(receive(sqs, url, VisibilityTimeout=0)) == 1
    assert len(receive(sqs, url)) == 1  # visibility 0 left it visible


def test_system_attributes_values(sqs: FakeSQS, clock: ManualClock) -> None:
    url = make_queue(sqs)
    sent_at = clock()
    sqs.send_message(QueueUrl=url, MessageBody="x")
    clock.advance(2)
    (msg,) = receive(sqs, url, MessageSystemAttributeNames=["All"], VisibilityTimeout=0)
    assert msg["Attributes"] == {
        "SenderId": "AIDAFAKESQSSENDER0000",
        "SentTimestamp": str(int(sent_at * 1000)),
        "ApproximateReceiveCount": "1",
        "ApproximateFirstReceiveTimestamp": str(int((sent_at + 2) * 1000)),
    }
    clock.advance(3)
    (again,) = receive(sqs, url, AttributeNames=["ApproximateFirstReceiveTimestamp", "SentTimestamp"])
    assert again["Attributes"] == {
        "SentTimestamp": str(int(sent_at * 1000)),
        "ApproximateFirstReceiveTimestamp": str(int((sent_at + 2) * 1000)),
    }


def test_message_attribute_selection(sqs: FakeSQS) -> None:
    url = make_queue(sqs)
    attrs = {
        "foo.a": {"DataType": "String", "StringValue": "1"},
        "foo.b": {"DataType": "Number", "StringValue": "2"},
        "bar": {"DataType": "Binary", "BinaryValue": b"\xff"},
    }
    sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes=attrs)

    def selected(names: list[str]) -> dict[str, Any]:
        (msg,) = receive(sqs, url, MessageAttributeNames=names, VisibilityTimeout=0)
        if "MessageAttributes" in msg:
            assert msg["MD5OfMessageAttributes"] == md5_of_message_attributes(msg["MessageAttributes"])
        else:
            assert "MD5OfMessageAttributes" not in msg
        return dict(msg.get("MessageAttributes", {}))

    assert selected(["All"]) == attrs
    assert selected([".*"]) == attrs
    assert set(selected(["foo.*"])) == {"foo.a", "foo.b"}
    assert selected(["bar", "missing"]) == {"bar": attrs["bar"]}
    assert selected([]) == {}


def test_max_number_of_messages(sqs: FakeSQS) -> None:
    url = make_queue(sqs)
    for i in range(15):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    assert len(receive(sqs, url)) == 1
    assert len(receive(sqs, url, MaxNumberOfMessages=10)) == 10
    assert len(receive(sqs, url, MaxNumberOfMessages=10)) == 4


def test_delay_seconds_per_message_and_per_queue(sqs: FakeSQS, clock: ManualClock) -> None:
    url = make_queue(sqs, DelaySeconds="10")
    sqs.send_message(QueueUrl=url, MessageBody="queue-delay")
    sqs.send_message(QueueUrl=url, MessageBody="own-delay", DelaySeconds=3)
    sqs.send_message(QueueUrl=url, MessageBody="no-delay", DelaySeconds=0)
    assert counts(sqs, url) == (1, 0, 2)
    assert [m["Body"] for m in receive(sqs, url, MaxNumberOfMessages=10)] == ["no-delay"]
    clock.advance(3)
    assert [m["Body"] for m in receive(sqs, url, MaxNumberOfMessages=10)] == ["own-delay"]
    clock.advance(7)
    assert [m["Body"] for m in receive(sqs, url, MaxNumberOfMessages=10)] == ["queue-delay"]


# ----------------------------------------------------------------- long polling


def test_long_poll_with_manual_clock_advances_virtual_time(sqs: FakeSQS, clock: ManualClock) -> None:
    url = make_queue(sqs)
    start, real = clock(), time.monotonic()
    assert receive(sqs, url, WaitTimeSeconds=20) == []
    assert clock() == start + 20
    assert time.monotonic() - real < 1
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=5)
    (msg,) = receive(sqs, url, WaitTimeSeconds=20)
    assert msg["Body"] == "later"
    assert clock() == start + 25  # returned as soon as the message became visible


def test_long_poll_real_clock_wakes_on_send_from_other_thread() -> None:
    sqs = FakeSQS()
    url = make_queue(sqs)
    timer = threading.Timer(0.2, lambda: sqs.send_message(QueueUrl=url, MessageBody="hi"))
    started = time.monotonic()
    timer.start()
    messages = receive(sqs, url, WaitTimeSeconds=5)
    elapsed = time.monotonic() - started
    timer.join()
    assert [m["Body"] for m in messages] == ["hi"]
    assert 0.15 <= elapsed < 2


def test_long_poll_real_clock_times_out() -> None:
    sqs = FakeSQS()
    url = make_queue(sqs)
    started = time.monotonic()
    assert receive(sqs, url, WaitTimeSeconds=1) == []
    assert 0.9 <= time.monotonic() - started < 2


def test_long_poll_real_clock_wakes_when_visibility_expires() -> None:
    sqs = FakeSQS()
    url = make_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="x")
    receive(sqs, url, VisibilityTimeout=1)
    started = time.monotonic()
    assert len(receive(sqs, url, WaitTimeSeconds=5)) == 1
    assert time.monotonic() - started < 2


# --------------------------------------------------------- delete and visibility


def test_delete_message_and_stale_handle_semantics(sqs: FakeSQS, clock: ManualClock) -> None:
    url = make_queue(sqs, VisibilityTimeout="10")
    sqs.send_message(QueueUrl=url, MessageBody="x")
    (first,) = receive(sqs, url)
    clock.advance(10)
    (second,) = receive(sqs, url)
    # Stale handle: the request succeeds but the message is not deleted (documented choice).
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    assert counts(sqs, url) == (0, 1, 0)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=second["ReceiptHandle"])
    assert counts(sqs, url) == (0, 0, 0)
    # Deleting an already deleted message is idempotent.
    sqs.delete_message(QueueUrl=url, ReceiptHandle=second["ReceiptHandle"])


def test_delete_with_latest_handle_after_visibility_expired_standard(
    sqs: FakeSQS, clock: ManualClock
) -> None:
    url = make_queue(sqs, VisibilityTimeout="5")
    sqs.send_message(QueueUrl=url, MessageBody="x")
    (msg,) = receive(sqs, url)
    clock.advance(6)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])
    assert counts(sqs, url) == (0, 0, 0)


def test_garbage_or_foreign_receipt_handles_are_invalid(sqs: FakeSQS) -> None:
    url = make_queue(sqs)
    other = make_queue(sqs, "other")
    sqs.send_message(QueueUrl=other, MessageBody="x")
    (msg,) = receive(sqs, other)
    for handle in ("garbage", "", msg["ReceiptHandle"]):
        error = error_of(lambda h=handle: sqs.delete_message(QueueUrl=url, ReceiptHandle=h))
        assert error["Code"] == "ReceiptHandleIsInvalid"
        error = error_of(
            lambda h=handle: sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=h, VisibilityTimeout=1)
        )
        assert error["Code"] == "ReceiptHandleIsInvalid"


def test_change_visibility_extends_and_releases(sqs: FakeSQS, clock: ManualClock) -> None:
    url = make_queue(sqs, VisibilityTimeout="10")
    sqs.send_message(QueueUrl=url, MessageBody="x")
    (msg,) = receive(sqs, url)
    clock.advance(8)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"], VisibilityTimeout=10)
    clock.advance(9)
    assert receive(sqs, url) == []  # the new 10 s count from the change, not the receive
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"], VisibilityTimeout=0)
    assert len(receive(sqs, url)) == 1


def test_change_visibility_with_stale_handle_is_rejected(sqs: FakeSQS, clock: ManualClock) -> None:
    url = make_queue(sqs, VisibilityTimeout="10")
    sqs.send_message(QueueUrl=url, MessageBody="x")
    (first,) = receive(sqs, url)
    clock.advance(10)
    receive(sqs, url)
    error = error_of(
        lambda: sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=5
        )
    )
    assert error["Code"] == "InvalidParameterValue"
    assert "Message does not exist or is not available" in error["Message"]


def test_change_visibility_after_timeout_lapsed_is_a_no_op(sqs: FakeSQS, clock: ManualClock) -> None:
    url = make_queue(sqs, VisibilityTimeout="5")
    sqs.send_message(QueueUrl=url, MessageBody="x")
    (msg,) = receive(sqs, url)
    clock.advance(5)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"], VisibilityTimeout=60)
    assert counts(sqs, url) == (1, 0, 0)  # not hidden again


def test_delete_and_change_visibility_batches(sqs: FakeSQS) -> None:
    url = make_queue(sqs)
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    msgs = receive(sqs, url, MaxNumberOfMessages=3)
    changed = sqs.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "a", "ReceiptHandle": msgs[0]["ReceiptHandle"], "VisibilityTimeout": 0},
            {"Id": "b", "ReceiptHandle": "junk", "VisibilityTimeout": 0},
        ],
    )
    assert changed["Successful"] == [{"Id": "a"}]
    assert changed["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"
    assert changed["Failed"][0]["SenderFault"] is True
    deleted = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "x", "ReceiptHandle": msgs[1]["ReceiptHandle"]},
            {"Id": "y", "ReceiptHandle": msgs[2]["ReceiptHandle"]},
            {"Id": "z", "ReceiptHandle": "junk"},
        ],
    )
    assert deleted["Successful"] == [{"Id": "x"}, {"Id": "y"}]
    assert [f["Id"] for f in deleted["Failed"]] == ["z"]
    assert counts(sqs, url) == (1, 0, 0)
    for op in (sqs.delete_message_batch, sqs.change_message_visibility_batch):
        assert error_of(lambda o=op: o(QueueUrl=url, Entries=[]))["Code"] == (
            "AWS.SimpleQueueService.EmptyBatchRequest"
        )
        assert (
            error_of(
                lambda o=op: o(
                    QueueUrl=url,
                    Entries=[{"Id": "a", "ReceiptHandle": "h"}, {"Id": "a", "ReceiptHandle": "h"}],
                )
            )["Code"]
            == "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"
        )


# --------------------------------------------------------------------------- redrive


def _with_dlq(sqs: FakeSQS, max_receive_count: int = 2, fifo: bool = False) -> tuple[str, str]:
    suffix = ".fifo" if fifo else ""
    extra = {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if fifo else {}
    dlq = make_queue(sqs, f"dlq{suffix}", **extra)
    policy = json.dumps({"deadLetterTargetArn": sqs.queue_arn(dlq), "maxReceiveCount": max_receive_count})
    src = make_queue(sqs, f"src{suffix}", VisibilityTimeout="10", RedrivePolicy=policy, **extra)
    return src, dlq


def test_redrive_moves_message_after_max_receive_count(sqs: FakeSQS, clock: ManualClock) -> None:
    src, dlq = _with_dlq(sqs, max_receive_count=2)
    sent = sqs.send_message(QueueUrl=src, MessageBody="poison")
    for _ in range(2):
        assert len(receive(sqs, src)) == 1
        clock.advance(10)
    assert receive(sqs, src) == []  # third receive moves it instead of delivering
    assert counts(sqs, src) == (0, 0, 0)
    (moved,) = receive(sqs, dlq, MessageSystemAttributeNames=["All"])
    assert moved["MessageId"] == sent["MessageId"]
    assert moved["Body"] == "poison"
    assert moved["Attributes"]["ApproximateReceiveCount"] == "3"
    assert moved["Attributes"]["DeadLetterQueueSourceArn"] == sqs.queue_arn(src)


def test_fifo_redrive_unblocks_the_group(sqs: FakeSQS, clock: ManualClock) -> None:
    src, dlq = _with_dlq(sqs, max_receive_count=1, fifo=True)
    sqs.send_message(QueueUrl=src, MessageBody="bad", MessageGroupId="g")
    sqs.send_message(QueueUrl=src, MessageBody="good", MessageGroupId="g")
    assert [m["Body"] for m in receive(sqs, src)] == ["bad"]
    clock.advance(10)
    assert [m["Body"] for m in receive(sqs, src)] == ["good"]
    assert [m["Body"] for m in receive(sqs, dlq)] == ["bad"]


# ------------------------------------------------------------------------------ FIFO


def test_fifo_requires_group_and_dedup(sqs: FakeSQS) -> None:
    url = fifo_queue(sqs)
    error = error_of(lambda: sqs.send_message(QueueUrl=url, MessageBody="x"))
    assert error["Code"] == "MissingParameter"
    error = error_of(lambda: sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g"))
    assert error["Code"] == "InvalidParameterValue"
    assert "ContentBasedDeduplication" in error["Message"]
    error = error_of(
        lambda: sqs.send_message(
            QueueUrl=url, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="d", DelaySeconds=1
        )
    )
    assert error["Code"] == "InvalidParameterValue"


def test_fifo_dedup_window_and_sequence_numbers(sqs: FakeSQS, clock: ManualClock) -> None:
    url = fifo_queue(sqs)
    first = sqs.send_message(QueueUrl=url, MessageBody="a", MessageGroupId="g", MessageDeduplicationId="d1")
    dup = sqs.send_message(QueueUrl=url, MessageBody="a", MessageGroupId="g", MessageDeduplicationId="d1")
    assert dup["MessageId"] == first["MessageId"]
    assert dup["SequenceNumber"] == first["SequenceNumber"]
    second = sqs.send_message(QueueUrl=url, MessageBody="b", MessageGroupId="g", MessageDeduplicationId="d2")
    assert len(first["SequenceNumber"]) == 20
    assert int(second["SequenceNumber"]) > int(first["SequenceNumber"])
    assert counts(sqs, url) == (2, 0, 0)
    clock.advance(300)
    sqs.send_message(QueueUrl=url, MessageBody="a", MessageGroupId="g", MessageDeduplicationId="d1")
    assert counts(sqs, url) == (3, 0, 0)


def test_fifo_content_based_dedup(sqs: FakeSQS) -> None:
    url = fifo_queue(sqs, ContentBasedDeduplication="true")
    sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g1")
    sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g2")
    sqs.send_message(QueueUrl=url, MessageBody="other", MessageGroupId="g1")
    assert counts(sqs, url) == (2, 0, 0)


def test_fifo_group_order_and_in_flight_lock(sqs: FakeSQS, clock: ManualClock) -> None:
    url = fifo_queue(sqs, ContentBasedDeduplication="true", VisibilityTimeout="30")
    for body, group in (("a1", "A"), ("b1", "B"), ("a2", "A"), ("b2", "B"), ("a3", "A")):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)
    (a1,) = receive(sqs, url)
    assert a1["Body"] == "a1"
    # Group A is locked while a1 is in flight; B flows in order.
    assert [m["Body"] for m in receive(sqs, url, MaxNumberOfMessages=10)] == ["b1", "b2"]
    assert receive(sqs, url, MaxNumberOfMessages=10) == []
    sqs.delete_message(QueueUrl=url, ReceiptHandle=a1["ReceiptHandle"])
    got = receive(sqs, url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"])
    assert [m["Body"] for m in got] == ["a2", "a3"]
    assert {m["Attributes"]["MessageGroupId"] for m in got} == {"A"}
    assert all("SequenceNumber" in m["Attributes"] for m in got)
    assert all("MessageDeduplicationId" in m["Attributes"] for m in got)


def test_fifo_visibility_expiry_redelivers_head_first(sqs: FakeSQS, clock: ManualClock) -> None:
    url = fifo_queue(sqs, ContentBasedDeduplication="true", VisibilityTimeout="10")
    for body in ("1", "2", "3"):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="g")
    assert [m["Body"] for m in receive(sqs, url, MaxNumberOfMessages=2)] == ["1", "2"]
    clock.advance(10)
    assert [m["Body"] for m in receive(sqs, url, MaxNumberOfMessages=10)] == ["1", "2", "3"]


def test_fifo_expired_receipt_handle_cannot_delete(sqs: FakeSQS, clock: ManualClock) -> None:
    url = fifo_queue(sqs, ContentBasedDeduplication="true", VisibilityTimeout="10")
    sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g")
    (msg,) = receive(sqs, url)
    clock.advance(10)
    error = error_of(lambda: sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"]))
    assert error["Code"] == "InvalidParameterValue"
    assert error["Message"].endswith("Reason: The receipt handle has expired.")
    assert counts(sqs, url) == (1, 0, 0)


def test_standard_queue_accepts_message_group_id(sqs: FakeSQS) -> None:
    url = make_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="tenant-1")
    (msg,) = receive(sqs, url, MessageSystemAttributeNames=["MessageGroupId"])
    assert msg["Attributes"] == {"MessageGroupId": "tenant-1"}


# ---------------------------------------------- request counting and failure injection


def test_calls_counts_every_request_including_failures(sqs: FakeSQS) -> None:
    url = make_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="x")
    receive(sqs, url)
    receive(sqs, url)
    with pytest.raises(ClientError):
        sqs.get_queue_url(QueueName="nope")
    assert sqs.calls == {"CreateQueue": 1, "SendMessage": 1, "ReceiveMessage": 2, "GetQueueUrl": 1}
    sqs.queue_arn(url)  # test helper, not a request
    assert "GetQueueAttributes" not in sqs.calls


def test_fail_next_whole_call(sqs: FakeSQS) -> None:
    url = make_queue(sqs)
    sqs.fail_next("SendMessage", count=2, code="InternalError")
    for _ in range(2):
        with pytest.raises(ClientError) as info:
            sqs.send_message(QueueUrl=url, MessageBody="x")
        assert info.value.response["Error"]["Code"] == "InternalError"
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        assert info.value.operation_name == "SendMessage"
    sqs.send_message(QueueUrl=url, MessageBody="x")
    assert counts(sqs, url) == (1, 0, 0)
    assert sqs.calls["SendMessage"] == 3


def test_fail_next_batch_entries(sqs: FakeSQS) -> None:
    url = make_queue(sqs)
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    msgs = receive(sqs, url, MaxNumberOfMessages=3)
    sqs.fail_next("DeleteMessageBatch", entries={"id1"})
    entries = [{"Id": f"id{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)]
    result = sqs.delete_message_batch(QueueUrl=url, Entries=entries)
    assert [s["Id"] for s in result["Successful"]] == ["id0", "id2"]
    assert result["Failed"] == [
        {
            "Id": "id1",
            "SenderFault": False,
            "Code": "InternalError",
            "Message": "Injected failure (InternalError)",
        }
    ]
    assert counts(sqs, url) == (0, 1, 0)
    retry = sqs.delete_message_batch(QueueUrl=url, Entries=[entries[1]])
    assert retry["Successful"] == [{"Id": "id1"}]


def test_fail_next_batch_whole_call_and_modeled_codes(sqs: FakeSQS) -> None:
    url = make_queue(sqs)
    sqs.fail_next("SendMessageBatch", code="RequestThrottled", sender_fault=True)
    with pytest.raises(sqs.exceptions.RequestThrottled):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "x"}])
    sqs.fail_next("ReceiveMessage", code="AWS.SimpleQueueService.NonExistentQueue")
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        receive(sqs, url)


def test_fail_next_rejects_nonsense(sqs: FakeSQS) -> None:
    with pytest.raises(ValueError, match="unknown operation"):
        sqs.fail_next("Nope")
    with pytest.raises(ValueError, match="not a batch operation"):
        sqs.fail_next("SendMessage", entries={"a"})
    sqs.fail_next("SendMessage")
    sqs.clear_failures()
    url = make_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="x")


# ----------------------------------------------------------------------- concurrency


def test_concurrent_consumers_receive_each_message_once() -> None:
    sqs = FakeSQS()
    url = make_queue(sqs, VisibilityTimeout="600")
    total = 300
    for start in range(0, total, 10):
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(start, start + 10)]
        )
    seen: list[str] = []
    lock = threading.Lock()

    def consume() -> None:
        while True:
            msgs = receive(sqs, url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            if not msgs:
                return
            with lock:
                seen.extend(m["Body"] for m in msgs)
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)],
            )

    threads = [threading.Thread(target=consume) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen, key=int) == [str(i) for i in range(total)]
    assert counts(sqs, url) == (0, 0, 0)


def test_many_long_pollers_each_get_a_distinct_message() -> None:
    sqs = FakeSQS()
    url = make_queue(sqs)
    results: list[list[dict[str, Any]]] = []
    lock = threading.Lock()

    def poll() -> None:
        msgs = receive(sqs, url, WaitTimeSeconds=5)
        with lock:
            results.append(msgs)

    threads = [threading.Thread(target=poll) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.1)
    for i in range(4):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    for t in threads:
        t.join(timeout=6)
    bodies = sorted(m["Body"] for msgs in results for m in msgs)
    assert bodies == ["0", "1", "2", "3"]


# ======================================================================= parity tests
# The same scenarios against FakeSQS (real clock) and boto3 on moto's server.


def _create(client: Any, name: str, **attributes: str) -> str:
    return str(client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])


def _arn(client: Any, url: str) -> str:
    return str(
        client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    )


def test_parity_send_receive_shapes_and_md5s(sqs_client: Any, unique: str) -> None:
    url = _create(sqs_client, f"p-{unique}")
    attrs = {
        "s": {"DataType": "String", "StringValue": "héllo"},
        "b": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
        "n": {"DataType": "Number.float", "StringValue": "1.5"},
    }
    sent = sqs_client.send_message(QueueUrl=url, MessageBody="body ✓", MessageAttributes=attrs)
    assert set(sent) - {"ResponseMetadata"} == {"MD5OfMessageBody", "MD5OfMessageAttributes", "MessageId"}
    assert sent["MD5OfMessageBody"] == hashlib.md5("body ✓".encode()).hexdigest()
    assert sent["MD5OfMessageAttributes"] == md5_of_message_attributes(attrs)
    (bare,) = receive(sqs_client, url, VisibilityTimeout=0)
    assert set(bare) == {"MessageId", "ReceiptHandle", "MD5OfBody", "Body"}
    (full,) = receive(sqs_client, url, MessageAttributeNames=["All"], MessageSystemAttributeNames=["All"])
    assert full["MessageAttributes"] == attrs
    assert full["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert set(full["Attributes"]) == {
        "SenderId",
        "SentTimestamp",
        "ApproximateReceiveCount",
        "ApproximateFirstReceiveTimestamp",
    }
    assert full["Attributes"]["ApproximateReceiveCount"] == "2"


def test_parity_visibility_counts_and_delete(sqs_client: Any, unique: str) -> None:
    url = _create(sqs_client, f"v-{unique}", VisibilityTimeout="30")
    sqs_client.send_message(QueueUrl=url, MessageBody="a")
    sqs_client.send_message(QueueUrl=url, MessageBody="b", DelaySeconds=60)
    assert counts(sqs_client, url) == (1, 0, 1)
    (msg,) = receive(sqs_client, url)
    assert counts(sqs_client, url) == (0, 1, 1)
    assert receive(sqs_client, url) == []
    sqs_client.change_message_visibility(
        QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"], VisibilityTimeout=0
    )
    (again,) = receive(sqs_client, url, AttributeNames=["ApproximateReceiveCount"])
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    sqs_client.delete_message(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"])
    assert counts(sqs_client, url) == (0, 0, 1)


def test_parity_redrive_to_dlq(sqs_client: Any, unique: str) -> None:
    dlq = _create(sqs_client, f"d-{unique}")
    policy = json.dumps({"deadLetterTargetArn": _arn(sqs_client, dlq), "maxReceiveCount": 1})
    src = _create(sqs_client, f"s-{unique}", RedrivePolicy=policy)
    sqs_client.send_message(QueueUrl=src, MessageBody="poison")
    (msg,) = receive(sqs_client, src)
    sqs_client.change_message_visibility(
        QueueUrl=src, ReceiptHandle=msg["ReceiptHandle"], VisibilityTimeout=0
    )
    assert receive(sqs_client, src) == []
    (moved,) = receive(sqs_client, dlq)
    assert moved["MessageId"] == msg["MessageId"]
    stored = sqs_client.get_queue_attributes(QueueUrl=src, AttributeNames=["RedrivePolicy"])
    assert json.loads(stored["Attributes"]["RedrivePolicy"]) == json.loads(policy)


def test_parity_fifo_order_group_lock_and_dedup(sqs_client: Any, unique: str) -> None:
    url = _create(sqs_client, f"f-{unique}.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    for body in ("a1", "a2"):
        sqs_client.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="A")
    first = sqs_client.send_message(
        QueueUrl=url, MessageBody="b1", MessageGroupId="B", MessageDeduplicationId="dd"
    )
    assert "SequenceNumber" in first
    sqs_client.send_message(QueueUrl=url, MessageBody="b1", MessageGroupId="B", MessageDeduplicationId="dd")
    assert counts(sqs_client, url) == (3, 0, 0)
    (head,) = receive(sqs_client, url)
    assert head["Body"] == "a1"
    rest = receive(sqs_client, url, MaxNumberOfMessages=10)
    assert [m["Body"] for m in rest] == ["b1"]
    sqs_client.delete_message(QueueUrl=url, ReceiptHandle=head["ReceiptHandle"])
    assert [m["Body"] for m in receive(sqs_client, url, MaxNumberOfMessages=10)] == ["a2"]


def test_parity_batch_results(sqs_client: Any, unique: str) -> None:
    url = _create(sqs_client, f"b-{unique}")
    sent = sqs_client.send_message_batch(
        QueueUrl=url, Entries=[{"Id": "one", "MessageBody": "1"}, {"Id": "two", "MessageBody": "2"}]
    )
    assert sorted(e["Id"] for e in sent["Successful"]) == ["one", "two"]
    assert sent.get("Failed", []) == []
    msgs = receive(sqs_client, url, MaxNumberOfMessages=10)
    assert len(msgs) == 2
    deleted = sqs_client.delete_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "x", "ReceiptHandle": msgs[0]["ReceiptHandle"]},
            {"Id": "y", "ReceiptHandle": "junk"},
        ],
    )
    assert deleted["Successful"] == [{"Id": "x"}]
    assert [(f["Id"], f["Code"], f["SenderFault"]) for f in deleted["Failed"]] == [
        ("y", "ReceiptHandleIsInvalid", True)
    ]


@pytest.mark.parametrize(
    ("scenario", "code"),
    [
        ("missing_queue", "AWS.SimpleQueueService.NonExistentQueue"),
        ("empty_batch", "AWS.SimpleQueueService.EmptyBatchRequest"),
        ("too_many", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"),
        ("not_distinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"),
        ("max_messages", "InvalidParameterValue"),
        ("garbage_handle", "ReceiptHandleIsInvalid"),
        ("fifo_no_group", "MissingParameter"),
        ("fifo_no_dedup", "InvalidParameterValue"),
        ("fifo_delay", "InvalidParameterValue"),
        ("unknown_attribute", "InvalidAttributeName"),
        ("bad_attribute_type", "InvalidParameterValue"),
    ],
)
def test_parity_error_codes(sqs_client: Any, unique: str, scenario: str, code: str) -> None:
    url = _create(sqs_client, f"e-{unique}", VisibilityTimeout="30")
    fifo = _create(sqs_client, f"e-{unique}.fifo", FifoQueue="true")
    calls: dict[str, Callable[[], Any]] = {
        "missing_queue": lambda: sqs_client.get_queue_url(QueueName=f"none-{unique}"),
        "empty_batch": lambda: sqs_client.send_message_batch(QueueUrl=url, Entries=[]),
        "too_many": lambda: sqs_client.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "x"} for i in range(11)]
        ),
        "not_distinct": lambda: sqs_client.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": "a", "ReceiptHandle": "h"}, {"Id": "a", "ReceiptHandle": "h"}]
        ),
        "max_messages": lambda: sqs_client.receive_message(QueueUrl=url, MaxNumberOfMessages=11),
        "garbage_handle": lambda: sqs_client.delete_message(QueueUrl=url, ReceiptHandle="junk"),
        "fifo_no_group": lambda: sqs_client.send_message(QueueUrl=fifo, MessageBody="x"),
        "fifo_no_dedup": lambda: sqs_client.send_message(QueueUrl=fifo, MessageBody="x", MessageGroupId="g"),
        "fifo_delay": lambda: sqs_client.send_message(
            QueueUrl=fifo, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="d", DelaySeconds=2
        ),
        "unknown_attribute": lambda: sqs_client.get_queue_attributes(QueueUrl=url, AttributeNames=["Bogus"]),
        "bad_attribute_type": lambda: sqs_client.send_message(
            QueueUrl=url, MessageBody="x", MessageAttributes={"a": {"DataType": "Text", "StringValue": "1"}}
        ),
    }
    error = error_of(calls[scenario])
    assert error["Code"] == code
    assert error["Type"] == "Sender"


def test_parity_modeled_exception_classes(sqs_client: Any, unique: str) -> None:
    with pytest.raises(sqs_client.exceptions.QueueDoesNotExist):
        sqs_client.get_queue_url(QueueName=f"none-{unique}")
    url = _create(sqs_client, f"x-{unique}")
    with pytest.raises(sqs_client.exceptions.EmptyBatchRequest):
        sqs_client.delete_message_batch(QueueUrl=url, Entries=[])


def test_parity_long_poll_wakes_on_send(sqs_client: Any, unique: str) -> None:
    url = _create(sqs_client, f"l-{unique}")
    timer = threading.Timer(0.3, lambda: sqs_client.send_message(QueueUrl=url, MessageBody="x"))
    started = time.monotonic()
    timer.start()
    messages = receive(sqs_client, url, WaitTimeSeconds=5)
    timer.join()
    assert [m["Body"] for m in messages] == ["x"]
    assert time.monotonic() - started < 4


def test_parity_stale_receipt_handles(sqs_client: Any, unique: str) -> None:
    """A delete with a stale handle succeeds without deleting the message received since.

    (AWS also refuses ChangeMessageVisibility with a stale handle, as a sender fault; moto
    accepts it, so that rule is pinned by the fake's own unit test above.)
    """
    url = _create(sqs_client, f"st-{unique}", VisibilityTimeout="30")
    sqs_client.send_message(QueueUrl=url, MessageBody="x")
    (first,) = receive(sqs_client, url)
    sqs_client.change_message_visibility(
        QueueUrl=url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0
    )
    (second,) = receive(sqs_client, url)
    sqs_client.delete_message(QueueUrl=url, ReceiptHandle=second["ReceiptHandle"])
    assert counts(sqs_client, url) == (0, 0, 0)

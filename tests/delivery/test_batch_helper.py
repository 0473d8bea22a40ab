"""The one batched-call helper: chunking, sender faults, retries within a budget, splitting.

A scripted client answers each request as told, and the clock and sleep are injected, so
these tests take no real time and cannot race.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from taskworker.aws.batch import (
    CHANGE_VISIBILITY,
    PUBLISH,
    SEND_MESSAGES,
    WRITE_ITEMS,
    RetryPolicy,
    call_batch,
    retry_call,
)

Answer = Callable[[list[dict[str, Any]]], dict[str, Any]]


class ManualClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def policy(clock: ManualClock, **overrides: Any) -> RetryPolicy:
    options: dict[str, Any] = {"attempts": 5, "budget": 10.0, "base": 0.1, "cap": 1.0, "random": lambda: 1.0}
    options.update(overrides)
    return RetryPolicy(sleep=clock.sleep, clock=clock, **options)


class Scripted:
    """A client whose every batch method records its entries and answers with ``answer``."""

    def __init__(self, answer: Answer | None = None) -> None:
        self.requests: list[list[dict[str, Any]]] = []
        self.answer = answer or ok

    def _call(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.requests.append(entries)
        return self.answer(entries)

    def send_message_batch(self, **request: Any) -> dict[str, Any]:
        return self._call(request["Entries"])

    def change_message_visibility_batch(self, **request: Any) -> dict[str, Any]:
        return self._call(request["Entries"])

    def publish_batch(self, **request: Any) -> dict[str, Any]:
        return self._call(request["PublishBatchRequestEntries"])

    def batch_write_item(self, **request: Any) -> dict[str, Any]:
        [(table, requests)] = request["RequestItems"].items()
        return {"UnprocessedItems": {table: self._call(requests).get("Unprocessed", [])}}


def ok(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Successful": [{"Id": e["Id"], "MessageId": f"m-{e['Id']}"} for e in entries], "Failed": []}


def client_error(code: str, status: int) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "SendMessageBatch")


def message(size: int) -> dict[str, Any]:
    return {"MessageBody": "x" * size}


def test_chunks_by_count_and_by_total_bytes() -> None:
    client = Scripted()
    result = call_batch(client, SEND_MESSAGES, "q", list(range(23)), lambda i: message(10))
    assert [len(r) for r in client.requests] == [10, 10, 3]
    assert [answer["MessageId"] for _, answer in result.succeeded] == [f"m-{i}" for i in range(23)]

    client = Scripted()
    call_batch(client, SEND_MESSAGES, "q", list(range(5)), lambda i: message(400_000))  # 1 MiB per request
    assert [len(r) for r in client.requests] == [2, 2, 1]
    client = Scripted()
    call_batch(client, PUBLISH, "t", list(range(5)), lambda i: {"Message": "x" * 100_000})  # SNS: 256 KiB
    assert [len(r) for r in client.requests] == [2, 2, 1]


def test_sender_faults_are_reported_at_once_and_never_retried() -> None:
    def refuse_first(entries: list[dict[str, Any]]) -> dict[str, Any]:
        answer = ok(entries[1:])
        answer["Failed"] = [{"Id": entries[0]["Id"], "Code": "ReceiptHandleIsInvalid", "SenderFault": True}]
        return answer

    client, clock = Scripted(refuse_first), ManualClock()
    changes = [("stale", 30.0), ("fresh", 30.0)]
    result = call_batch(
        client, CHANGE_VISIBILITY, "q", changes, lambda c: {"ReceiptHandle": c[0]}, policy=policy(clock)
    )
    assert len(client.requests) == 1
    assert clock.sleeps == []
    [(item, error)] = result.failed
    assert item == ("stale", 30.0)
    assert (error.code, error.sender_fault) == ("ReceiptHandleIsInvalid", True)
    assert [item for item, _ in result.succeeded] == [("fresh", 30.0)]


def test_a_whole_request_refused_with_a_4xx_fails_every_entry_without_retry() -> None:
    def no_queue(entries: list[dict[str, Any]]) -> dict[str, Any]:
        raise client_error("AWS.SimpleQueueService.NonExistentQueue", 400)

    client, clock = Scripted(no_queue), ManualClock()
    result = call_batch(client, SEND_MESSAGES, "q", [1, 2, 3], lambda i: message(1), policy=policy(clock))
    assert len(client.requests) == 1
    assert result.codes() == ["AWS.SimpleQueueService.NonExistentQueue"]
    assert all(error.sender_fault for _, error in result.failed)


@pytest.mark.parametrize(
    "failure",
    [
        client_error("ThrottlingException", 400),
        client_error("InternalError", 500),
        EndpointConnectionError(endpoint_url="http://127.0.0.1:9"),
        None,  # an entry neither acknowledged nor refused
        "entry",  # an entry failed by the service's fault
    ],
)
def test_throttling_5xx_connection_errors_and_lost_entries_are_retried(failure: Any) -> None:
    answers = iter(range(100))

    def flaky(entries: list[dict[str, Any]]) -> dict[str, Any]:
        if next(answers) > 0:
            return ok(entries)
        if isinstance(failure, Exception):
            raise failure
        if failure == "entry":
            return {"Successful": [], "Failed": [{"Id": e["Id"], "Code": "InternalError"} for e in entries]}
        return {"Successful": [], "Failed": []}

    client, clock = Scripted(flaky), ManualClock()
    result = call_batch(client, SEND_MESSAGES, "q", [1, 2], lambda i: message(1), policy=policy(clock))
    assert result.ok
    assert len(client.requests) == 2
    assert clock.sleeps == [0.1]


def test_retries_back_off_exponentially_with_jitter_and_stop_within_the_budget() -> None:
    def down(entries: list[dict[str, Any]]) -> dict[str, Any]:
        raise client_error("ServiceUnavailable", 503)

    client, clock = Scripted(down), ManualClock()
    result = call_batch(
        client, SEND_MESSAGES, "q", [1], lambda i: message(1), policy=policy(clock, attempts=50, budget=2.0)
    )
    assert clock.sleeps == [0.1, 0.2, 0.4, 0.8]  # the next pause (1.0) would end past the budget
    assert clock.now <= 2.0
    [(_, error)] = result.failed
    assert (error.code, error.sender_fault) == ("ServiceUnavailable", False)

    halves = ManualClock()
    call_batch(
        Scripted(down),
        SEND_MESSAGES,
        "q",
        [1],
        lambda i: message(1),
        policy=policy(halves, random=lambda: 0.5),
    )
    assert halves.sleeps == [0.05, 0.1, 0.2, 0.4]  # jitter scales every pause


def test_a_budget_of_nothing_still_sends_once_and_never_sleeps() -> None:
    client, clock = Scripted(lambda entries: {"Successful": [], "Failed": []}), ManualClock()
    result = call_batch(
        client, SEND_MESSAGES, "q", [1], lambda i: message(1), policy=policy(clock).within(0.0)
    )
    assert len(client.requests) == 1
    assert clock.sleeps == []
    assert result.codes() == ["NotAcknowledged"]


def test_a_request_too_long_is_split_rather_than_failing_every_entry() -> None:
    def limited(entries: list[dict[str, Any]]) -> dict[str, Any]:
        if sum(len(e["MessageBody"]) for e in entries) > 150:
            raise client_error("AWS.SimpleQueueService.BatchRequestTooLong", 400)
        return ok(entries)

    client = Scripted(limited)
    result = call_batch(client, SEND_MESSAGES, "q", list(range(4)), lambda i: message(60))
    assert result.ok
    assert [len(r) for r in client.requests] == [4, 2, 2]

    def too_long_always(entries: list[dict[str, Any]]) -> dict[str, Any]:
        raise client_error("BatchRequestTooLong", 413)

    result = call_batch(Scripted(too_long_always), SEND_MESSAGES, "q", [1, 2], lambda i: message(1))
    assert [error.sender_fault for _, error in result.failed] == [True, True]  # each alone: refused


def test_batch_write_item_matches_unprocessed_items_back_to_their_items() -> None:
    rounds: list[int] = []

    def partly(requests: list[dict[str, Any]]) -> dict[str, Any]:
        rounds.append(len(requests))
        return (
            {"Unprocessed": [r for r in requests if r["PutRequest"]["Item"]["k"]["S"] == "b"]}
            if len(rounds) == 1
            else {}
        )

    client, clock = Scripted(partly), ManualClock()
    items = ["a", "b", "c"] + [f"x{i}" for i in range(25)]
    result = call_batch(
        client,
        WRITE_ITEMS,
        "table",
        items,
        lambda k: {"PutRequest": {"Item": {"k": {"S": k}}}},
        policy=policy(clock),
    )
    assert rounds == [25, 3, 1]  # 25 per request; then only the unprocessed one again
    assert result.ok
    assert sorted(item for item, _ in result.succeeded) == sorted(items)


def test_retry_call_retries_service_faults_and_raises_sender_faults_at_once() -> None:
    clock = ManualClock()
    answers = iter([client_error("InternalError", 500), "done"])

    def flaky() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert retry_call(flaky, policy=policy(clock)) == "done"
    calls: list[int] = []

    def refused() -> None:
        calls.append(1)
        raise client_error("ResourceNotFoundException", 400)

    with pytest.raises(ClientError):
        retry_call(refused, policy=policy(clock))
    assert calls == [1]


def test_an_enclosing_time_budget_cuts_every_policy() -> None:
    from taskworker.aws.batch import time_budget

    client, clock = Scripted(lambda entries: {"Successful": [], "Failed": []}), ManualClock()
    with time_budget(0.0):  # what the Lambda runtime passes when no time is left
        result = call_batch(client, SEND_MESSAGES, "q", [1], lambda i: message(1), policy=policy(clock))
    assert client.requests == []  # a spent budget starts nothing, not even a first attempt
    assert clock.sleeps == []
    assert [error.code for _, error in result.failed] == ["BudgetExhausted"]


def test_retry_call_inside_a_spent_time_budget_is_not_attempted() -> None:
    from taskworker.aws.batch import BudgetExhaustedError, time_budget

    calls: list[int] = []
    with time_budget(0.0), pytest.raises(BudgetExhaustedError):
        retry_call(lambda: calls.append(1), policy=policy(ManualClock()))
    assert calls == []

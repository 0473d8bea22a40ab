"""1,000 generated malformed records mixed with valid ones: the handler never raises, and
the response names exactly the records that must come back (nothing lost, nothing extra)."""

from __future__ import annotations

import os
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from taskworker import Settings, TaskApp
from taskworker.aws import Clients
from taskworker.testing import FakeSQS, lambda_context, sqs_record

DONE, DEAD_LETTERED, RETRIED, UNIDENTIFIED = "done", "dead-lettered", "retried", "unidentified"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
# SQS only carries XML-safe characters, so only those can arrive in a Lambda event
sqs_text = st.text(st.characters(blacklist_categories=["Cs", "Cc"]) | st.sampled_from("\t\n\r"), max_size=40)
junk = st.none() | st.integers() | sqs_text | st.lists(st.integers(), max_size=2)


class Item(BaseModel):
    n: int


def valid() -> st.SearchStrategy[tuple[dict[str, Any], str]]:
    return st.integers(0, 1000).map(lambda n: (sqs_record({"n": n}, task_type="item.handle"), DONE))


def flaky() -> st.SearchStrategy[tuple[dict[str, Any], str]]:
    return st.integers(-9, -1).map(lambda n: (sqs_record({"n": n}, task_type="item.handle"), RETRIED))


def bad_body() -> st.SearchStrategy[tuple[dict[str, Any], str]]:
    text = sqs_text.filter(lambda t: not _is_item_json(t))
    return text.map(lambda body: (sqs_record(body=body, task_type="item.handle"), DEAD_LETTERED))


def bad_json_shape() -> st.SearchStrategy[tuple[dict[str, Any], str]]:
    shaped = json_values.filter(lambda v: not (isinstance(v, dict) and isinstance(v.get("n"), int)))
    return shaped.map(lambda value: (sqs_record(value, task_type="item.handle"), DEAD_LETTERED))


def bad_routing() -> st.SearchStrategy[tuple[dict[str, Any], str]]:
    unknown = sqs_text.filter(lambda t: t != "item.handle")
    return st.one_of(
        unknown.map(lambda t: (sqs_record({"n": 1}, task_type=t or None), DEAD_LETTERED)),
        st.integers(0, 9).map(lambda n: (sqs_record({"n": n}), DEAD_LETTERED)),
        junk.map(
            lambda j: (
                _with(sqs_record({"n": 1}, task_type="item.handle"), "messageAttributes", j),
                DEAD_LETTERED,
            )
        ),
        junk.map(
            lambda j: (
                _with(sqs_record({"n": 1}, task_type="item.handle"), "messageAttributes", {"task_type": j}),
                DEAD_LETTERED,
            )
        ),
    )


def bad_envelope() -> st.SearchStrategy[tuple[dict[str, Any], str]]:
    record = st.integers(0, 5).map(lambda n: sqs_record({"n": n}, task_type="item.handle"))
    return st.one_of(
        st.tuples(record, junk).map(lambda rj: (_with(rj[0], "attributes", rj[1]), DONE)),
        st.tuples(record, junk).map(lambda rj: (_with(rj[0], "body", rj[1]), DEAD_LETTERED)),
        record.map(lambda r: (_without(r, "messageId"), UNIDENTIFIED)),
        st.tuples(record, st.integers() | st.none()).map(
            lambda rj: (_with(rj[0], "messageId", rj[1]), UNIDENTIFIED)
        ),
    )


records = st.one_of(valid(), flaky(), bad_body(), bad_json_shape(), bad_routing(), bad_envelope())


@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(batch=st.lists(records, min_size=10, max_size=10))
def test_generated_batches_never_raise_and_report_exactly_what_must_come_back(
    batch: list[tuple[dict[str, Any], str]],
) -> None:
    sqs = FakeSQS()
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    sqs.create_queue(QueueName="taskworker-tasks")  # the queue sqs_record's ARN names
    app = TaskApp("fuzz", settings=Settings(dlq_url=dlq), clients=Clients(sqs=sqs))

    @app.task("item.handle")
    def handle(item: Item) -> None:
        if item.n < 0:
            raise ConnectionError("transient")

    for record, _ in batch:  # every record gets a unique receipt handle to be reported by
        record["receiptHandle"] = f"rh-{uuid.uuid4()}"
    response = app.lambda_handler({"Records": [record for record, _ in batch]}, lambda_context())

    assert set(response) == {"batchItemFailures"}
    reported = [item["itemIdentifier"] for item in response["batchItemFailures"]]
    assert all(isinstance(identifier, str) for identifier in reported)
    expected = [r["messageId"] for r, kind in batch if kind == RETRIED]
    expected += [r["receiptHandle"] for r, kind in batch if kind == UNIDENTIFIED]
    assert sorted(reported) == sorted(expected)
    dead = _drain(sqs, dlq)
    assert dead == sum(kind == DEAD_LETTERED for _, kind in batch)


def _drain(sqs: FakeSQS, queue: str) -> int:
    count = 0
    while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
        count += len(messages)
        sqs.delete_message_batch(
            QueueUrl=queue,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )
    return count


def _is_item_json(text: str) -> bool:
    try:
        Item.model_validate_json(text)
    except ValueError:
        return False
    return True


def _with(record: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    return {**record, key: value}


def _without(record: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != key}

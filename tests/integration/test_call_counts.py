"""AWS calls per task with each delivery feature on, counted with boto3 event hooks.

Run with ``-s`` to see the numbers; the assertions hold the budgets: at most 0.1 SNS
calls per task on full batches, and exactly two DynamoDB calls per new idempotency key.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from moto_stack import REGION, Stack
from pydantic import BaseModel

from taskworker import TaskApp
from taskworker.aws import Clients

BATCHES = 3
BATCH = 10


class In(BaseModel):
    n: int


class Out(BaseModel):
    n: int


def counted(stack: Stack, service: str, counter: Counter[str]) -> Any:
    import boto3

    client = boto3.client(service, endpoint_url=stack.endpoint, region_name=REGION)

    def count(model: Any, **_: Any) -> None:
        counter[f"{service}.{model.name}"] += 1

    client.meta.events.register(f"before-call.{service}.*", count)
    return client


def run(stack: Stack, **features: Any) -> Counter[str]:
    counter: Counter[str] = Counter()
    clients = Clients(
        sqs=counted(stack, "sqs", counter),
        sns=counted(stack, "sns", counter),
        dynamodb=counted(stack, "dynamodb", counter),
    )
    settings = stack.settings(
        result_topic_arn=None, status_table=None, idempotency_table=None, dlq_url=None
    ).merged(**features)
    app = TaskApp("counts", settings=settings, clients=clients)

    @app.task("count.me")
    def me(req: In) -> Out:
        return Out(n=req.n)

    for batch in range(BATCHES):
        stack.sqs.send_message_batch(
            QueueUrl=stack.queue_url,
            Entries=[
                {
                    "Id": str(i),
                    "MessageBody": f'{{"n": {batch * BATCH + i}}}',
                    "MessageAttributes": {"task_type": {"DataType": "String", "StringValue": "count.me"}},
                }
                for i in range(BATCH)
            ],
        )
        assert stack.deliver(app, expect=BATCH) == {"batchItemFailures": []}
    return counter


def per_task(counter: Counter[str], service: str) -> float:
    return sum(v for k, v in counter.items() if k.startswith(service + ".")) / (BATCHES * BATCH)


def test_result_events_cost_one_publish_batch_per_ten_tasks(stack: Stack) -> None:
    counter = run(stack, result_topic_arn=stack.topic_arn)
    print(f"\nresult events: {dict(counter)}; SNS calls per task {per_task(counter, 'sns'):.2f}")
    assert counter["sns.PublishBatch"] == BATCHES
    assert per_task(counter, "sns") <= 0.1
    assert len(stack.events()) == BATCHES * BATCH


def test_idempotency_costs_two_dynamodb_calls_per_new_key(stack: Stack) -> None:
    counter = run(stack, idempotency_table=stack.idempotency_table)
    print(f"\nidempotency: {dict(counter)}; DynamoDB calls per task {per_task(counter, 'dynamodb'):.2f}")
    assert counter["dynamodb.PutItem"] == BATCHES * BATCH
    assert counter["dynamodb.UpdateItem"] == BATCHES * BATCH
    assert per_task(counter, "dynamodb") == 2


def test_status_costs_one_put_per_task_plus_one_batch_write_per_batch(stack: Stack) -> None:
    counter = run(stack, status_table=stack.status_table)
    print(f"\nstatus: {dict(counter)}; DynamoDB calls per task {per_task(counter, 'dynamodb'):.2f}")
    assert counter["dynamodb.PutItem"] == BATCHES * BATCH
    assert counter["dynamodb.BatchWriteItem"] == BATCHES
    assert per_task(counter, "dynamodb") == 1.1


def test_everything_on(stack: Stack) -> None:
    counter = run(
        stack,
        result_topic_arn=stack.topic_arn,
        status_table=stack.status_table,
        idempotency_table=stack.idempotency_table,
        dlq_url=stack.dlq_url,
    )
    print(
        f"\nall features: {dict(counter)}; per task: SNS {per_task(counter, 'sns'):.2f}, "
        f"DynamoDB {per_task(counter, 'dynamodb'):.2f}, SQS {per_task(counter, 'sqs'):.2f}"
    )
    assert per_task(counter, "sns") <= 0.1
    assert per_task(counter, "dynamodb") == 3.1


def test_a_duplicate_costs_one_dynamodb_call(stack: Stack) -> None:
    counter: Counter[str] = Counter()
    clients = Clients(sqs=stack.sqs, sns=stack.sns, dynamodb=counted(stack, "dynamodb", counter))
    settings = stack.settings(result_topic_arn=None, status_table=None, dlq_url=None)
    app = TaskApp("dupes", settings=settings, clients=clients)

    @app.task("count.me")
    def me(req: In) -> Out:
        return Out(n=req.n)

    for _ in range(2):
        for i in range(BATCH):
            stack.send("count.me", {"n": i}, idempotency_key=f"key-{i}")
        stack.deliver(app, expect=BATCH)
    print(f"\nduplicates: {dict(counter)} for {BATCH} new keys then {BATCH} duplicates")
    assert counter == Counter({"dynamodb.PutItem": 2 * BATCH, "dynamodb.UpdateItem": BATCH})

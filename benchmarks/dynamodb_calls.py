"""DynamoDB calls per task with idempotency on, with status on, and with both.

Against moto's server in this process, with the Lambda handler fed real received
messages in full batches of ten; calls are counted with a boto3 ``before-call`` hook on
the app's DynamoDB client. Baseline: powertools' ``idempotent_function`` used directly on
the same endpoint (its DynamoDB persistence layer, a fresh key per call), which needs two
calls per new key (PutItem to take the key, UpdateItem to store the result) and one per
duplicate (the conditional PutItem that fails returns the stored record). taskworker's
idempotency is built on it, so the ratio shows what taskworker adds: nothing, if it is
1.00x. Status costs one PutItem per task (``running``, which must be visible while the
task runs) and one BatchWriteItem per batch (the final statuses). Informational rows.
"""

from __future__ import annotations

import uuid
from typing import Any

from benchmarks import aws_calls, local_aws
from benchmarks.rows import Row, compared
from benchmarks.timing import Budget
from taskworker.aws import Clients
from taskworker.testing import lambda_context

NAME = "dynamodb_calls"
UNIT = "calls/task"


def run(budget: Budget) -> list[Row]:
    tasks = 20 if budget.smoke else 100
    with local_aws.moto_in_process() as endpoint:
        resources = aws_calls.provision(endpoint)
        new_key, duplicate = _powertools(resources, tasks)
        idempotency = {"idempotency_table": resources.idempotency_table}
        status = {"status_table": resources.status_table}
        figures = {
            "idempotency on, new tasks": _taskworker(resources, tasks, **idempotency),
            "status on": _taskworker(resources, tasks, **status),
            "status + idempotency on": _taskworker(resources, tasks, **status, **idempotency),
        }
        redelivered = _duplicates(resources, tasks, **idempotency)
    baseline = "powertools idempotent_function, new key"
    rows = [
        compared(NAME, f"taskworker, {name}", value, UNIT, baseline, new_key)
        for name, value in figures.items()
    ]
    rows.append(
        compared(
            NAME,
            "taskworker, idempotency on, duplicate",
            redelivered,
            UNIT,
            "powertools idempotent_function, duplicate key",
            duplicate,
        )
    )
    return rows


def _taskworker(resources: aws_calls.Resources, tasks: int, **features: Any) -> float:
    dynamodb, counts = local_aws.counted_client(resources.endpoint, "dynamodb")
    app = aws_calls.app(resources, Clients(sqs=resources.sqs, dynamodb=dynamodb), **features)
    aws_calls.deliver(resources, app.lambda_handler, tasks)
    return sum(counts.values()) / tasks


def _duplicates(resources: aws_calls.Resources, tasks: int, **features: Any) -> float:
    """Calls per task for tasks whose idempotency key already completed (redeliveries)."""
    dynamodb, counts = local_aws.counted_client(resources.endpoint, "dynamodb")
    app = aws_calls.app(resources, Clients(sqs=resources.sqs, dynamodb=dynamodb), **features)
    keys = [str(uuid.uuid4()) for _ in range(tasks)]
    aws_calls.deliver(resources, app.lambda_handler, tasks, keys=keys)
    counts.clear()
    aws_calls.deliver(resources, app.lambda_handler, tasks, keys=keys)
    return sum(counts.values()) / tasks


def _powertools(resources: aws_calls.Resources, keys: int) -> tuple[float, float]:
    """Calls per new key, then per duplicate key, with powertools' idempotency alone."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    dynamodb, counts = local_aws.counted_client(resources.endpoint, "dynamodb")
    layer = DynamoDBPersistenceLayer(table_name=resources.idempotency_table, boto3_client=dynamodb)

    def work(task: dict[str, Any]) -> dict[str, Any]:
        return {"result": task}

    config = IdempotencyConfig(expires_after_seconds=3600)
    config.register_lambda_context(lambda_context(timeout_ms=900_000))  # as its docs ask
    guarded = idempotent_function(
        work,
        data_keyword_argument="task",
        persistence_store=layer,
        config=config,
        key_prefix="bench-powertools",
    )
    tasks = [{"task_id": str(uuid.uuid4()), "n": n} for n in range(keys)]
    for task in tasks:
        guarded(task=task)
    new_key = sum(counts.values()) / keys
    counts.clear()
    for task in tasks:
        guarded(task=task)
    return new_key, sum(counts.values()) / keys

"""SNS calls per task with result events on, against moto's server in this process.

taskworker publishes the result events of a batch with PublishBatch, ten per call; the
baseline is a hand-written handler that publishes one event per task with Publish, on the
same endpoint and the same kind of batch. Calls are counted with a boto3 ``before-call``
hook on each contestant's SNS client. Both contestants must get every event to the
subscribed queue, or the benchmark refuses to report. Target: at most 0.1x the baseline,
i.e. 0.1 SNS calls per task on full batches of ten. For information: a batch of one
message (a quiet queue) costs one call per task, as the baseline does.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from benchmarks import aws_calls, local_aws
from benchmarks.rows import Row, compared
from benchmarks.timing import Budget
from taskworker.aws import Clients

NAME = "sns_calls"
UNIT = "calls/task"
MAX_RATIO = 0.1
BASELINE = "hand-written: one Publish per task"


def run(budget: Budget) -> list[Row]:
    tasks = 30 if budget.smoke else 100
    single = 5 if budget.smoke else 10
    with local_aws.moto_in_process() as endpoint:
        resources = aws_calls.provision(endpoint)
        full = _taskworker(resources, tasks, aws_calls.BATCH)
        baseline = _hand_written(resources, tasks)
        one = _taskworker(resources, single, 1)
    return [
        compared(NAME, "taskworker, result events, batches of 10", full, UNIT, BASELINE, baseline, MAX_RATIO),
        compared(NAME, "taskworker, result events, batches of 1", one, UNIT, BASELINE, baseline),
    ]


def _taskworker(resources: aws_calls.Resources, tasks: int, batch: int) -> float:
    sns, counts = local_aws.counted_client(resources.endpoint, "sns")
    clients = Clients(sqs=resources.sqs, sns=sns, dynamodb=resources.dynamodb)
    app = aws_calls.app(resources, clients, result_topic_arn=resources.topic_arn)
    aws_calls.deliver(resources, app.lambda_handler, tasks, batch=batch)
    return _per_task(resources, counts, tasks)


def _hand_written(resources: aws_calls.Resources, tasks: int) -> float:
    sns, counts = local_aws.counted_client(resources.endpoint, "sns")

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        for record in event["Records"]:
            result = json.loads(record["body"])
            message = {"task_id": record["messageId"], "status": "succeeded", "result": result}
            sns.publish(TopicArn=resources.topic_arn, Message=json.dumps(message))
        return {"batchItemFailures": []}

    aws_calls.deliver(resources, handler, tasks)
    return _per_task(resources, counts, tasks)


def _per_task(resources: aws_calls.Resources, counts: Counter[str], tasks: int) -> float:
    delivered = aws_calls.drain(resources.sqs, resources.events_url)
    if delivered != tasks:
        raise RuntimeError(f"{delivered} result events reached the subscriber for {tasks} tasks")
    return sum(counts.values()) / tasks

"""Creating the queues, topic and tables an app uses, on whatever endpoint the clients reach.

One function provisions for ``taskworker dev``, the integration tests and the benchmarks,
in the shapes the infra deploys (a queue with a RedrivePolicy to its DLQ, the result topic
with a raw-delivery subscriber queue, the status and idempotency tables with their keys and
TTL), so code that works locally meets no surprise on AWS. Names start with a prefix
derived from the app's name, so two apps on one endpoint never share (and steal from) a
queue. Existing resources are reused.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from taskworker.queues import DEFAULT_QUEUE
from taskworker.settings import Settings

# The deployed stack's numbers (infra/taskworker_infra: queues.py, consumer.py, timeouts.py);
# tests/dev checks that these stay equal to the infra's.
MAX_RECEIVE_COUNT = 5
BATCH_SIZE = 1
TIMEOUT_MARGIN = 30
DEFAULT_TASK_TIMEOUT = 60
LAMBDA_MAX_TIMEOUT = 900
VISIBILITY_FACTOR = 6
SQS_MAX_VISIBILITY = 43_200
MAX_PREFIX = 60
"""Room for the longest suffix (``-tasks-dlq.fifo``) within SQS's 80-character names."""
MAX_QUEUE_NAME = 80


def prefix_for(app_name: str) -> str:
    """A resource-name prefix from an app's name: ``Shop Tasks`` -> ``shop-tasks``."""
    slug = re.sub(r"[^a-z0-9_-]+", "-", app_name.lower()).strip("-_")
    if not slug:
        raise ValueError(f"cannot derive resource names from the app name {app_name!r}: pass --prefix")
    return slug[:MAX_PREFIX]


def consumer_timeout(task_timeouts: Iterable[float | None], batch_size: int = BATCH_SIZE) -> int:
    """The Lambda timeout the infra derives: the slowest task (tasks without a timeout count
    as 60 s) plus 30 s, times the batch size, at most Lambda's 900 s."""
    slowest = max((t if t is not None else DEFAULT_TASK_TIMEOUT for t in task_timeouts), default=0)
    required = math.ceil(slowest + TIMEOUT_MARGIN)
    return min(LAMBDA_MAX_TIMEOUT, max(required, required * batch_size))


def visibility_for(consumer_seconds: float) -> int:
    """The queue's visibility timeout the infra derives: six times the consumer's timeout."""
    return min(SQS_MAX_VISIBILITY, math.ceil(VISIBILITY_FACTOR * consumer_seconds))


@dataclass(frozen=True)
class DevResources:
    """Names and shapes of one app's resources.

    The task queue and DLQ fields describe one of the app's queues, ``lane`` (the default
    queue unless named); :meth:`for_lane` gives the same resources for another queue.
    """

    prefix: str = "taskworker-dev"
    visibility_timeout: int = 30
    max_receive_count: int = MAX_RECEIVE_COUNT
    fifo: bool = False
    """A FIFO task queue and DLQ."""
    fifo_results: bool = False
    """A FIFO result topic and results queue."""
    lane: str = DEFAULT_QUEUE
    """The app's queue these task queue fields describe (``app.queue(name)``)."""

    def for_lane(
        self, lane: str, *, visibility_timeout: int, max_receive_count: int, fifo: bool
    ) -> DevResources:
        """The resources with the task queue and DLQ of the app's queue ``lane``."""
        lanes = replace(
            self,
            lane=lane,
            visibility_timeout=visibility_timeout,
            max_receive_count=max_receive_count,
            fifo=fifo,
        )
        if len(lanes.dlq) > MAX_QUEUE_NAME:
            raise ValueError(
                f"queue {lane!r}: {lanes.dlq!r} is longer than SQS allows; pass a shorter --prefix"
            )
        return lanes

    def _name(self, stem: str, fifo: bool) -> str:
        return f"{self.prefix}-{stem}" + (".fifo" if fifo else "")

    @property
    def _tasks(self) -> str:
        """``tasks`` for the default queue (the names of one-queue apps), else ``<lane>-tasks``."""
        return "tasks" if self.lane == DEFAULT_QUEUE else f"{self.lane.removesuffix('.fifo')}-tasks"

    @property
    def queue(self) -> str:
        return self._name(self._tasks, self.fifo)

    @property
    def dlq(self) -> str:
        return self._name(f"{self._tasks}-dlq", self.fifo)

    @property
    def results_queue(self) -> str:
        return self._name("results-log", self.fifo_results)

    @property
    def topic(self) -> str:
        return self._name("results", self.fifo_results)

    @property
    def status_table(self) -> str:
        return f"{self.prefix}-status"

    @property
    def idempotency_table(self) -> str:
        return f"{self.prefix}-idempotency"


@dataclass(frozen=True)
class Queues:
    queue_url: str
    queue_arn: str
    dlq_url: str


@dataclass(frozen=True)
class Provisioned:
    settings: Settings
    """The app's: the default queue's URL and DLQ, every queue's URL (``queue_urls``)."""
    queue_arn: str
    results_queue_url: str
    lanes: dict[str, tuple[Queues, int]] = field(default_factory=dict)
    """Each queue's URLs and ``max_receive_count``, by the app's queue name."""

    def consumer_settings(self, lane: str) -> Settings:
        """The settings of the consumer of ``lane``, as the infra sets them per consumer."""
        queues, max_receive_count = self.lanes[lane]
        return replace(
            self.settings,
            queue=lane,
            queue_url=queues.queue_url,
            dlq_url=queues.dlq_url,
            max_receive_count=max_receive_count,
        )


def provision_queues(resources: DevResources, sqs: Any) -> Queues:
    """The task queue with a RedrivePolicy to its DLQ (all a worker or a client needs)."""
    fifo = {"FifoQueue": "true"} if resources.fifo else {}
    dlq_url = sqs.create_queue(QueueName=resources.dlq, Attributes=fifo)["QueueUrl"]
    redrive = {"deadLetterTargetArn": queue_arn(sqs, dlq_url), "maxReceiveCount": resources.max_receive_count}
    attributes = {
        "VisibilityTimeout": str(resources.visibility_timeout),
        "RedrivePolicy": json.dumps(redrive),
        **fifo,
    }
    queue_url = sqs.create_queue(QueueName=resources.queue, Attributes=attributes)["QueueUrl"]
    return Queues(queue_url, queue_arn(sqs, queue_url), dlq_url)


def provision(
    resources: DevResources, sqs: Any, sns: Any, dynamodb: Any, lanes: Sequence[DevResources] = ()
) -> Provisioned:
    """Create (or find) every resource and return the settings that name them.

    ``lanes`` are the app's other queues (:meth:`DevResources.for_lane`), each created with
    its own DLQ and redrive limit; ``queue_urls`` then names every queue.
    """
    queues = provision_queues(resources, sqs)
    others = {lane.lane: (provision_queues(lane, sqs), lane.max_receive_count) for lane in lanes}
    every = {resources.lane: (queues, resources.max_receive_count), **others}
    topic_arn, results_url = _results(resources, sqs, sns)
    _table(dynamodb, resources.status_table, key="task_id", ttl="expires_at")
    _table(dynamodb, resources.idempotency_table, key="id", ttl="expiration")
    settings = Settings(
        queue_url=queues.queue_url,
        dlq_url=queues.dlq_url,
        result_topic_arn=topic_arn,
        status_table=resources.status_table,
        idempotency_table=resources.idempotency_table,
        max_receive_count=resources.max_receive_count,
        queue_urls={lane: urls.queue_url for lane, (urls, _) in every.items()} if lanes else None,
    )
    return Provisioned(settings, queues.queue_arn, results_url, every)


def queue_arn(sqs: Any, queue_url: str) -> str:
    response = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    return str(response["Attributes"]["QueueArn"])


def _results(resources: DevResources, sqs: Any, sns: Any) -> tuple[str, str]:
    """The result topic and a queue subscribed to it with raw delivery, as a subscriber sees it."""
    fifo = {"FifoTopic": "true"} if resources.fifo_results else {}
    topic_arn = str(sns.create_topic(Name=resources.topic, Attributes=fifo)["TopicArn"])
    queue = {"FifoQueue": "true"} if resources.fifo_results else {}
    results_url = str(sqs.create_queue(QueueName=resources.results_queue, Attributes=queue)["QueueUrl"])
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn(sqs, results_url),
        Attributes={"RawMessageDelivery": "true"},
    )
    return topic_arn, results_url


def _table(dynamodb: Any, name: str, *, key: str, ttl: str) -> None:
    try:
        dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except dynamodb.exceptions.ResourceInUseException:
        return
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1})
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl}
    )

"""Shared fixtures: one moto server per test session, reached over HTTP.

Integration tests talk to it exactly as the library talks to AWS, through ordinary boto3
clients given its ``endpoint_url`` (or ``AWS_ENDPOINT_URL`` for subprocesses); nothing is
patched. Each test creates fresh, uniquely named resources, and queues stay shallow
because moto's SQS cost grows with queue depth.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tests.moto_env import AWS_ENV, MotoQueues, sqs_client
from tests.worker.helpers import make_queues

# Property tests judge behaviour, never speed: on a loaded 2-core machine Hypothesis's
# timing checks (too_slow, per-example deadlines) fail healthy tests at random.
settings.register_profile("taskworker", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("taskworker")


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from taskworker.dev.endpoint import EmbeddedEndpoint  # the endpoint `taskworker dev` embeds

    saved = {key: os.environ.get(key) for key in AWS_ENV}
    os.environ.update(AWS_ENV)
    endpoint = EmbeddedEndpoint(port=0)
    try:
        yield endpoint.start()
    finally:
        endpoint.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def moto_sqs(moto_endpoint: str) -> Any:
    return sqs_client(moto_endpoint)


@pytest.fixture
def moto_queues(moto_endpoint: str, moto_sqs: Any) -> MotoQueues:
    queue_url, dlq_url = make_queues(moto_sqs, f"t-{uuid.uuid4().hex[:10]}")
    return MotoQueues(moto_endpoint, moto_sqs, queue_url, dlq_url)


@pytest.fixture
def moto_fifo_queues(moto_endpoint: str, moto_sqs: Any) -> MotoQueues:
    queue_url, dlq_url = make_queues(moto_sqs, f"f-{uuid.uuid4().hex[:10]}", fifo=True)
    return MotoQueues(moto_endpoint, moto_sqs, queue_url, dlq_url)

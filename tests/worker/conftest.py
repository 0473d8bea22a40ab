"""Worker integration fixtures: one moto server per session, real boto3 clients over HTTP.

Nothing is patched: the worker, the client and the CLI talk to moto exactly as they would
to AWS, with the endpoint given the way boto3 takes it (``endpoint_url`` here,
``AWS_ENDPOINT_URL`` for subprocesses). Queues stay shallow: moto's per-call cost grows
with queue depth.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from tests.worker.helpers import make_queues

REGION = "us-east-1"
AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    saved = {key: os.environ.get(key) for key in AWS_ENV}
    os.environ.update(AWS_ENV)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{server._server.server_port}"
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass
class MotoQueues:
    endpoint: str
    sqs: Any
    queue_url: str
    dlq_url: str

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a subprocess worker/CLI pointed at these queues."""
        return {
            **os.environ,
            **AWS_ENV,
            "AWS_ENDPOINT_URL": self.endpoint,
            "TASKWORKER_QUEUE_URL": self.queue_url,
            "TASKWORKER_DLQ_URL": self.dlq_url,
            "TASKWORKER_BACKOFF_BASE_SECONDS": "0",
            "PYTHONPATH": os.pathsep.join(filter(None, [extra.pop("PYTHONPATH", ""), _root()])),
            **extra,
        }


def _root() -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def sqs_client(endpoint: str) -> Any:
    return boto3.client("sqs", endpoint_url=endpoint, region_name=REGION)


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

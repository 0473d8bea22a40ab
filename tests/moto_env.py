"""What tests that talk to moto's server share: the dummy AWS environment and queues.

Nothing is patched: the worker, the client and the CLI talk to moto exactly as they would
to AWS, with the endpoint given the way boto3 takes it (``endpoint_url`` here,
``AWS_ENDPOINT_URL`` for subprocesses).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import boto3

REGION = "us-east-1"
AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}


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
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sqs_client(endpoint: str) -> Any:
    return boto3.client("sqs", endpoint_url=endpoint, region_name=REGION)

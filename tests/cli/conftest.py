"""Reuse the worker tests' moto fixtures."""

from tests.worker.conftest import moto_endpoint, moto_queues, moto_sqs

__all__ = ["moto_endpoint", "moto_queues", "moto_sqs"]

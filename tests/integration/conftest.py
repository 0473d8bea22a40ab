"""Integration fixtures: fresh AWS resources per test on the session's moto server.

Everything talks to moto over HTTP through ordinary boto3 clients, exactly as the library
talks to AWS; nothing is patched. Queues stay shallow because moto's SQS cost grows with
queue depth.
"""

from __future__ import annotations

import pytest
from moto_stack import Stack, make_stack


@pytest.fixture
def stack(moto_endpoint: str) -> Stack:
    return make_stack(moto_endpoint)

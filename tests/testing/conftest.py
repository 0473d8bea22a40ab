"""Fixtures for the fake SQS: a manual clock, a fake on it, and the parity backends.

Parity tests run the same scenario against the fake and against boto3 talking to the
session's moto server (``moto_endpoint`` from ``tests/conftest.py``), so "behaves like the
real service" is checked, not assumed.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from taskworker.testing.fake_sqs import FakeSQS, ManualClock
from tests.moto_env import sqs_client as moto_sqs_client


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=1_700_000_000.0)


@pytest.fixture
def sqs(clock: ManualClock) -> FakeSQS:
    return FakeSQS(clock=clock)


@pytest.fixture
def unique() -> str:
    """A short unique suffix, so parity tests never collide on the shared moto server."""
    return uuid.uuid4().hex[:10]


@pytest.fixture(params=["fake", "moto"])
def backend(request: pytest.FixtureRequest) -> str:
    """Which implementation a parity test runs against."""
    return str(request.param)


@pytest.fixture
def sqs_client(backend: str, request: pytest.FixtureRequest) -> Any:
    """An SQS client: a real-clock FakeSQS, or boto3 talking to moto."""
    if backend == "fake":
        return FakeSQS()
    return moto_sqs_client(request.getfixturevalue("moto_endpoint"))

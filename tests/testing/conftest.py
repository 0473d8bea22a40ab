"""Fixtures for the fake AWS clients: manual clocks, fakes, and a moto server for parity tests.

The moto server is started lazily, once per session, only when a parity test
asks for it; parity tests compare the fakes against real boto3 clients talking
to that server so that "behaves like the real service" is checked, not assumed.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from taskworker.testing.fake_sns import FakeSNS
from taskworker.testing.fake_sqs import FakeSQS, ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=1_700_000_000.0)


@pytest.fixture
def sqs(clock: ManualClock) -> FakeSQS:
    return FakeSQS(clock=clock)


@pytest.fixture
def sns(sqs: FakeSQS) -> FakeSNS:
    return FakeSNS(sqs)


@pytest.fixture
def unique() -> str:
    """A short unique suffix, so parity tests never collide on the shared moto server."""
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """URL of a moto server on loopback, shared by all parity tests of the session."""
    server_mod = pytest.importorskip("moto.server")
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(key, value)
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{server._server.server_port}"
    finally:
        server.stop()


def _boto_client(service: str, endpoint: str) -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(params=["fake", "moto"])
def backend(request: pytest.FixtureRequest) -> str:
    """Which implementation a parity test runs against."""
    return str(request.param)


@pytest.fixture
def sqs_client(backend: str, request: pytest.FixtureRequest) -> Any:
    """An SQS client: a real-clock FakeSQS, or boto3 talking to moto."""
    if backend == "fake":
        return FakeSQS()
    return _boto_client("sqs", request.getfixturevalue("moto_endpoint"))


@pytest.fixture
def sns_sqs_clients(backend: str, request: pytest.FixtureRequest) -> tuple[Any, Any]:
    """(SNS client, SQS client) wired together: FakeSNS over FakeSQS, or both on moto."""
    if backend == "fake":
        fake_sqs = FakeSQS()
        return FakeSNS(fake_sqs), fake_sqs
    endpoint = request.getfixturevalue("moto_endpoint")
    return _boto_client("sns", endpoint), _boto_client("sqs", endpoint)

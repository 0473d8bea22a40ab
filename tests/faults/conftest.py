"""Fixtures of the fault tests: the proxy in front of the session's moto server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.proxy import FaultProxy


@pytest.fixture
def proxy(moto_endpoint: str) -> Iterator[FaultProxy]:
    faults = FaultProxy(moto_endpoint)
    faults.start()
    try:
        yield faults
    finally:
        faults.stop()

"""The CLI's tests point it at moto through the environment only, as a user would."""

from __future__ import annotations

import pytest
from rich.console import Console

import examples.reports
from tests.moto_env import MotoQueues


@pytest.fixture
def env(moto_queues: MotoQueues, monkeypatch: pytest.MonkeyPatch) -> MotoQueues:
    for key, value in moto_queues.env().items():
        if key.startswith(("AWS_", "TASKWORKER_")):
            monkeypatch.setenv(key, value)
    monkeypatch.setattr(examples.reports.app, "_settings", None)  # re-read from this test's env
    monkeypatch.setattr(examples.reports.app.clients, "_clients", {})
    monkeypatch.setattr("taskworker.cli.out", Console(width=250))  # tables unwrapped for asserts
    return moto_queues

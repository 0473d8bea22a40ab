"""``taskworker dev`` fires schedules on their expressions; ``taskworker schedules`` lists them."""

from __future__ import annotations

import json
import pathlib
import threading
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel
from rich.console import Console
from typer.testing import CliRunner

from taskworker import TaskApp
from taskworker.cli import app as cli
from taskworker.client import TaskClient
from taskworker.dev.schedules import ScheduleFirer
from taskworker.settings import Settings
from taskworker.testing import FakeSQS, ManualClock

START = datetime(2026, 12, 1, 12, 0, 20, tzinfo=UTC).timestamp()


class Tick(BaseModel):
    source: str


def make_app() -> TaskApp:
    app = TaskApp("ticking")

    @app.task("tick")
    def tick(req: Tick) -> None: ...

    app.schedule("every-minute", "cron(* * * * ? *)", "tick", {"source": "cron"})
    app.schedule("once", "at(2026-12-01T12:02:30)", "tick", {"source": "once"})
    return app


def firer(app: TaskApp, clock: ManualClock, sqs: FakeSQS, wait: object = None) -> ScheduleFirer:
    url = sqs.create_queue(QueueName="ticks")["QueueUrl"]
    client = TaskClient(app=app, settings=Settings(queue_url=url), sqs=sqs, clock=clock)
    return ScheduleFirer(list(app.schedules.values()), client, printer=lambda _: None, clock=clock, wait=wait)  # type: ignore[arg-type]


def bodies(sqs: FakeSQS) -> list[str]:
    url = sqs.get_queue_url(QueueName="ticks")["QueueUrl"]
    found: list[str] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600).get(
        "Messages"
    ):
        found += [json.loads(m["Body"])["source"] for m in batch]
    return found


def test_an_every_minute_schedule_fires_each_minute_on_a_fake_clock() -> None:
    clock = ManualClock(START)
    sqs = FakeSQS(clock=clock)
    waits: list[float] = []
    done = threading.Event()

    def wait(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)
        if len(waits) >= 5:
            done.set()
            fire.request_stop()

    fire = firer(make_app(), clock, sqs, wait)
    fire.start()
    assert done.wait(30)
    fire.stop()
    assert waits[:5] == [40.0, 60.0, 30.0, 30.0, 60.0]
    assert [name for name, _ in fire.fired] == ["every-minute", "every-minute", "once", "every-minute"]
    assert bodies(sqs) == ["cron", "cron", "once", "cron"]


def test_a_clock_that_jumps_fires_once_not_once_per_missed_run() -> None:
    clock = ManualClock(START)
    sqs = FakeSQS(clock=clock)
    fire = firer(make_app(), clock, sqs)
    clock.advance(3600)
    assert fire.fire_due() == 60.0 - 20.0
    assert [name for name, _ in fire.fired] == ["every-minute", "once"]


@pytest.fixture
def sched_module(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "sched_cli_app.py").write_text(
        "from pydantic import BaseModel\n"
        "from taskworker import TaskApp\n"
        "class Tick(BaseModel):\n    source: str\n"
        "app = TaskApp('cli-sched')\n"
        "@app.task('tick')\ndef tick(req: Tick) -> None: ...\n"
        "app.schedule('nightly', 'cron(0 3 * * ? *)', 'tick', {'source': 'x'}, timezone='Europe/Berlin')\n"
        "app.schedule('often', 'rate(5 minutes)', 'tick', {'source': 'y'})\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr("taskworker.cli.out", Console(width=250))
    return "sched_cli_app:app"


def test_the_cli_lists_schedules_with_their_next_run(sched_module: str) -> None:
    result = CliRunner().invoke(cli, ["schedules", sched_module], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    nightly = next(line for line in lines if "nightly" in line)
    assert "cron(0 3 * * ? *)" in nightly
    assert "Europe/Berlin" in nightly
    assert " 02:00:00" in nightly or " 01:00:00" in nightly  # 03:00 in Berlin, winter or summer
    assert "rates count from deployment" in next(line for line in lines if "often" in line)


def test_dev_refuses_a_bad_schedules_switch(sched_module: str) -> None:
    result = CliRunner().invoke(cli, ["dev", sched_module, "--schedules", "maybe"])
    assert result.exit_code == 2
    assert "--schedules must be 'on' or 'off'" in result.output


def test_the_cli_names_a_bad_expression_in_one_line(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sched_bad_app.py").write_text(
        "from pydantic import BaseModel\n"
        "from taskworker import TaskApp\n"
        "class Tick(BaseModel):\n    source: str\n"
        "app = TaskApp('bad')\n"
        "@app.task('tick')\ndef tick(req: Tick) -> None: ...\n"
        "app.schedule('x', 'cron(0 3 * * *)', 'tick', {'source': 'x'})\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    result = CliRunner().invoke(cli, ["schedules", "sched_bad_app:app"])
    assert result.exit_code == 2
    assert "has 5 fields; Scheduler's cron has six" in result.output
    assert "Traceback" not in result.output

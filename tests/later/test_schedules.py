"""Periodic declarations: ``app.schedule`` checked at import time, and the next-run evaluator."""

from __future__ import annotations

import pathlib
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import BaseModel

from taskworker import TaskApp
from taskworker.errors import TaskDefinitionError
from taskworker.schedules import Expression, ExpressionError


class Report(BaseModel):
    account_id: str
    month: str = "current"


def app_with_task() -> TaskApp:
    app = TaskApp("periodic")

    @app.task("report.generate")
    def generate(req: Report) -> None: ...

    return app


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_a_declared_schedule_is_listed_with_its_next_run() -> None:
    app = app_with_task()
    spec = app.schedule(
        "nightly-reports",
        "cron(0 3 * * ? *)",
        "report.generate",
        {"account_id": "all"},
        timezone="Europe/Berlin",
    )
    assert app.schedules == {"nightly-reports": spec}
    assert spec.body == '{"account_id":"all"}'
    assert spec.next_run(utc(2026, 12, 1, 12, 0)) == utc(2026, 12, 2, 2, 0)  # 03:00 in Berlin (CET)
    assert spec.next_run(utc(2026, 7, 1, 12, 0)) == utc(2026, 7, 2, 1, 0)  # 03:00 in Berlin (CEST)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("rate(5 minutes)", utc(2026, 1, 1, 0, 0), utc(2026, 1, 1, 0, 5)),
        ("rate(1 day)", utc(2026, 1, 1, 0, 0), utc(2026, 1, 2, 0, 0)),
        ("at(2026-12-02T06:00:00)", utc(2026, 12, 1), utc(2026, 12, 2, 6, 0)),
        ("at(2026-12-02T06:00:00)", utc(2026, 12, 3), None),
        ("cron(* * * * ? *)", utc(2026, 1, 1, 0, 0), utc(2026, 1, 1, 0, 1)),
        ("cron(0/15 * * * ? *)", utc(2026, 1, 1, 0, 16), utc(2026, 1, 1, 0, 30)),
        ("cron(0 9 ? * MON-FRI *)", utc(2026, 1, 2, 10, 0), utc(2026, 1, 5, 9, 0)),  # Fri -> Mon
        ("cron(0 12 L * ? *)", utc(2026, 2, 1), utc(2026, 2, 28, 12, 0)),
        ("cron(0 12 ? * 6L *)", utc(2026, 1, 1), utc(2026, 1, 30, 12, 0)),  # last Friday
        ("cron(0 12 ? * 2#1 *)", utc(2026, 2, 1), utc(2026, 2, 2, 12, 0)),  # first Monday
        ("cron(0 12 15W * ? *)", utc(2026, 2, 1), utc(2026, 2, 16, 12, 0)),  # the 15th is a Sunday
        ("cron(0 12 1W * ? *)", utc(2026, 2, 3), utc(2026, 3, 2, 12, 0)),  # March 1st is a Sunday
        ("cron(0 12 LW * ? *)", utc(2026, 5, 1), utc(2026, 5, 29, 12, 0)),  # May 31st is a Sunday
        ("cron(0 0 1 JAN,JUL ? 2027)", utc(2026, 3, 1), utc(2027, 1, 1, 0, 0)),
        ("cron(0 0 1 1 ? 2020)", utc(2026, 3, 1), None),
    ],
)
def test_next_run(expression: str, after: datetime, expected: datetime | None) -> None:
    assert Expression.parse(expression).next_after(after) == expected


def test_a_local_time_that_dst_skips_is_not_run() -> None:
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    expression = Expression.parse("cron(30 2 * * ? *)")
    assert expression.next_after(utc(2026, 3, 28, 12, 0), berlin) == utc(2026, 3, 30, 0, 30)


@pytest.mark.parametrize(
    ("expression", "error"),
    [
        ("cron(0 3 * * *)", "six"),
        ("cron(0 3 * * * *)", "exactly one"),
        ("cron(0 3 ? * ? *)", "exactly one"),
        ("cron(61 3 * * ? *)", "outside 0-59"),
        ("cron(0 3 * FOO ? *)", "FOO"),
        ("cron(0 5-3 * * ? *)", "low to high"),
        ("rate(1 minutes)", "rate\\(1 minute\\)"),
        ("rate(5 minute)", "rate\\(N minutes\\)"),
        ("rate(0 minutes)", "N > 1"),
        ("every day", "not a schedule expression"),
        ("at(2026-13-02T06:00:00)", "month"),
    ],
)
def test_expressions_scheduler_would_refuse_fail_at_declaration(expression: str, error: str) -> None:
    app = app_with_task()
    with pytest.raises(ExpressionError, match=error):
        app.schedule("s", expression, "report.generate", {"account_id": "a"})
    assert app.schedules == {}


def test_payload_timezone_and_name_are_checked_at_declaration() -> None:
    app = app_with_task()
    with pytest.raises(TaskDefinitionError, match=r"invalid payload for report\.generate: account_id"):
        app.schedule("s", "rate(1 hour)", "report.generate", {"acount_id": "a"})
    with pytest.raises(TaskDefinitionError, match="unknown timezone 'Mars/Olympus'"):
        app.schedule("s", "rate(1 hour)", "report.generate", {"account_id": "a"}, timezone="Mars/Olympus")
    with pytest.raises(TaskDefinitionError, match="1-64 letters"):
        app.schedule("no spaces", "rate(1 hour)", "report.generate", {"account_id": "a"})
    with pytest.raises(TaskDefinitionError, match="not JSON-serializable"):
        app.schedule("s", "rate(1 hour)", "report.generate", {"account_id": object()})
    app.schedule("s", "rate(1 hour)", "report.generate", {"account_id": "a"})
    with pytest.raises(TaskDefinitionError, match="declared twice"):
        app.schedule("s", "rate(2 hours)", "report.generate", {"account_id": "a"})


def test_a_schedule_declared_before_its_task_is_checked_by_app_check() -> None:
    app = TaskApp("order")
    app.schedule("early", "rate(1 hour)", "later.task", {"wrong": 1})
    with pytest.raises(TaskDefinitionError, match="does not declare"):
        app.check()

    @app.task("later.task")
    def later_task(req: Report) -> None: ...

    with pytest.raises(TaskDefinitionError, match=r"invalid payload for later\.task"):
        app.check()


def test_load_app_refuses_a_module_whose_schedule_names_no_task(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from taskworker.app import load_app

    root = tmp_path
    (root / "sched_app_mod.py").write_text(
        "from taskworker import TaskApp\n"
        "app = TaskApp('m')\n"
        "app.schedule('x', 'rate(1 hour)', 'missing', {})\n"
    )
    monkeypatch.syspath_prepend(str(root))
    with pytest.raises(TaskDefinitionError, match="'missing'"):
        load_app("sched_app_mod:app")


def test_rate_next_run_is_one_interval_on() -> None:
    after = utc(2026, 1, 1, 0, 0, 30)
    assert Expression.parse("rate(2 hours)").next_after(after) == after + timedelta(hours=2)

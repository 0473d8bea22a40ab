"""The benchmark suite runs end to end and yields a well-formed table.

Behaviour only: no assertion here depends on how fast anything is, so a slow or busy CI
machine cannot make it fail; the figures themselves are for ``python -m benchmarks``.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import registry, report
from benchmarks.rows import Row, check, compared
from benchmarks.timing import Budget

REPO_ROOT = Path(__file__).resolve().parents[2]
COUNTED_AND_LOCAL = {
    "worker_sqs_requests": 3,
    "worker_throughput": 2,
    "worker_fauxqs": 19,
    "sns_calls": 2,
    "dynamodb_calls": 4,
    "dev_latency": 7,
}
"""Benchmarks that run tasks through fakes or a local endpoint, with their row counts."""


@pytest.fixture(scope="module")
def quick_rows() -> list[Row]:
    rows: list[Row] = []
    for benchmark in registry.select([]):
        rows.extend(benchmark.run(Budget.quick()))
    return rows


def test_every_benchmark_yields_rows(quick_rows: list[Row]) -> None:
    produced = {row.benchmark for row in quick_rows}
    assert produced == {benchmark.name for benchmark in registry.BENCHMARKS}


def test_timed_rows_have_finite_positive_ratios(quick_rows: list[Row]) -> None:
    timed = [row for row in quick_rows if not row.is_check and not row.skipped]
    assert timed
    for row in timed:
        assert row.ratio is not None
        assert math.isfinite(row.ratio), row
        assert row.ratio > 0, row


def test_targeted_rows_have_a_verdict(quick_rows: list[Row]) -> None:
    for row in quick_rows:
        if row.skipped:
            continue  # said why instead (the skipped-rows test checks that)
        if row.max_ratio is not None or row.min_ratio is not None or row.is_check:
            assert row.passed is not None, row
            assert row.target_text, row


@pytest.mark.parametrize(("benchmark", "count"), sorted(COUNTED_AND_LOCAL.items()))
def test_task_benchmarks_yield_finite_figures(quick_rows: list[Row], benchmark: str, count: int) -> None:
    """Shape only: every figure and baseline is a finite positive number with a unit."""
    rows = [row for row in quick_rows if row.benchmark == benchmark]
    assert len(rows) == count, rows
    if any(row.skipped for row in rows):  # fauxqs is not installed on this machine
        assert all(row.skipped for row in rows), rows
        return
    for row in rows:
        assert not row.is_check, row
        assert row.unit, row
        assert row.baseline, row
        assert isinstance(row.value, float | int), row
        assert math.isfinite(row.value), row
        assert row.value > 0, row
        assert row.baseline_value is not None, row
        assert math.isfinite(row.baseline_value), row
        assert row.baseline_value > 0, row


def test_quick_run_skips_fauxqs_rows_with_a_reason_when_it_is_not_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CI has no fauxqs install and must not spend 40 s on ``npm ci``: the rows say why."""
    from benchmarks import worker_fauxqs

    monkeypatch.setenv("TASKWORKER_BENCH_CACHE", str(tmp_path / "empty-cache"))
    rows = worker_fauxqs.run(Budget.quick())
    assert len(rows) == COUNTED_AND_LOCAL["worker_fauxqs"]
    assert all(row.skipped and "not installed" in row.skipped for row in rows), rows
    assert all(row.passed is None and not row.is_check for row in rows)
    assert not (tmp_path / "empty-cache").exists(), "a quick run must not install anything"
    lines = report.table(rows).splitlines()[2:]
    for line in lines:
        assert "skipped: fauxqs not installed" in line, line
        assert line.rstrip().endswith("| skipped |"), line


def test_quick_budget_is_the_smoke_setting() -> None:
    assert Budget.quick().smoke
    assert not Budget.full().smoke


def test_command_prints_the_table() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--only", "boto3_free"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    header, rule, *body = completed.stdout.strip().splitlines()
    assert "ratio" in header
    assert set(rule) <= {"|", "-"}
    assert len(body) == 2


def test_unknown_and_planned_names_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="unknown"):
        registry.select(["no_such_benchmark"])
    monkeypatch.setattr(registry, "PLANNED", (registry.Planned("someday", "not written yet"),))
    with pytest.raises(ValueError, match="planned"):
        registry.select(["someday"])


def test_row_ratio_and_verdict() -> None:
    row = compared("b", "x", 2.6, "us/msg", "base", 2.0, max_ratio=1.3)
    assert row.ratio == pytest.approx(1.3)
    assert row.passed is True
    assert compared("b", "x", 3.0, "us/msg", "base", 2.0, max_ratio=1.3).passed is False
    assert compared("b", "x", 3.0, "us/msg", "base", 2.0).passed is None
    assert check("b", "fact", False, "must hold").passed is False


def test_row_floor_target_for_rates() -> None:
    row = compared("b", "rate", 450.0, "tasks/s", "loop", 44.0, min_ratio=10)
    assert row.passed is True
    assert row.target_text == ">= 10x"
    assert compared("b", "rate", 400.0, "tasks/s", "loop", 44.0, min_ratio=10).passed is False

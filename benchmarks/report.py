"""The results table, and ``RESULTS.md`` with what is needed to reproduce it.

Absolute figures only make sense with the machine, the versions and the date next to
them; ratios are the part worth comparing across runs.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks.rows import Row

HEADERS = (
    "benchmark",
    "measurement",
    "value",
    "unit",
    "baseline",
    "baseline value",
    "ratio",
    "target",
    "result",
)
PACKAGES = ("taskworker", "pydantic", "pydantic-core", "aws-lambda-powertools", "boto3")
RESULTS_PATH = Path(__file__).resolve().parent / "RESULTS.md"


def table(rows: Sequence[Row]) -> str:
    """A Markdown table, aligned so it also reads well in a terminal."""
    cells = [HEADERS, *(_cells(row) for row in rows)]
    widths = [max(len(line[column]) for line in cells) for column in range(len(HEADERS))]
    lines = [
        "| " + " | ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)) + " |"
        for line in cells
    ]
    lines.insert(1, "|" + "|".join("-" * (width + 2) for width in widths) + "|")
    return "\n".join(lines)


def verdict(row: Row) -> str:
    if row.skipped:
        return "skipped"
    if row.passed is None:
        return "info"
    return "PASS" if row.passed else ("FAIL" if row.is_check else "MISS")


def machine() -> list[str]:
    """What the figures depend on: interpreter, platform, CPUs, versions, commit."""
    versions = ", ".join(f"{name} {_version(name)}" for name in PACKAGES)
    return [
        f"Python {platform.python_version()} ({platform.python_implementation()}) at {sys.executable}",
        f"{platform.platform()}, {platform.machine()}, {os.cpu_count()} CPUs, load average {_load()}",
        f"Packages: {versions}",
        f"Commit: {_commit()}",
    ]


def write_results(rows: Sequence[Row], command: str, elapsed_seconds: float) -> Path:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = "\n".join(
        [
            "# Benchmark results",
            "",
            f"Measured {now} with `{command}` in {elapsed_seconds:.0f} s.",
            "",
            *(f"- {line}" for line in machine()),
            "",
            table(rows),
            "",
            "Values are medians on a shared, noisy machine: compare the ratios, which are",
            "measured against a baseline in the same run, not the absolute figures.",
            "",
        ]
    )
    RESULTS_PATH.write_text(text)
    return RESULTS_PATH


def _cells(row: Row) -> tuple[str, ...]:
    if row.skipped:
        return (row.benchmark, row.name, "", "", "", "", "", f"skipped: {row.skipped}", verdict(row))
    if row.is_check:
        value = "yes" if row.value else "no"
        return (row.benchmark, row.name, value, "", "", "", "", row.target_text, verdict(row))
    assert row.ratio is not None
    assert row.baseline_value is not None
    return (
        row.benchmark,
        row.name,
        _number(float(row.value)),
        row.unit,
        row.baseline,
        _number(row.baseline_value),
        f"{row.ratio:.2f}x",
        row.target_text,
        verdict(row),
    )


def _number(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def _load() -> str:
    """The 1, 5 and 15 minute load averages: on a shared machine they explain a slow run."""
    return " / ".join(f"{value:.1f}" for value in os.getloadavg())


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _commit() -> str:
    try:
        found = subprocess.run(
            ["git", "-C", str(RESULTS_PATH.parent), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return found.stdout.strip()

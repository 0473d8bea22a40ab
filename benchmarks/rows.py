"""One line of the results table, and how it is judged.

A measurement is only meaningful next to a baseline measured in the same run on the same
machine, so every timed row carries its baseline and the ratio; a target is a ratio,
never an absolute time. Yes/no facts (such as "boto3 was not imported") are check rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Row:
    """A result: ``value`` in ``unit`` next to ``baseline_value`` of ``baseline``.

    ``max_ratio`` is the target (``value / baseline_value`` must not exceed it), or
    ``min_ratio`` for a rate that must reach a multiple of its baseline; neither means
    the row is informational. For check rows ``ratio`` is ``None`` and ``passed``
    says whether the fact held.
    """

    benchmark: str
    name: str
    value: float | bool
    unit: str
    baseline: str = ""
    baseline_value: float | None = None
    ratio: float | None = None
    max_ratio: float | None = None
    passed: bool | None = None
    target_text: str = ""
    min_ratio: float | None = None
    """A floor instead of a ceiling, for rates (throughput must be at least ``min_ratio``x)."""
    skipped: str = ""
    """Why the row could not be measured here (then ``value`` means nothing)."""

    @property
    def is_check(self) -> bool:
        return isinstance(self.value, bool) and not self.skipped


def compared(
    benchmark: str,
    name: str,
    value: float,
    unit: str,
    baseline: str,
    baseline_value: float,
    max_ratio: float | None = None,
    *,
    ratio: float | None = None,
    min_ratio: float | None = None,
) -> Row:
    """A timed row: its ratio to the baseline and, with a target, whether it passed.

    ``ratio`` defaults to ``value / baseline_value``; pass the paired ratio from
    :meth:`benchmarks.timing.Samples.ratio` when there is one, it is steadier.
    """
    if ratio is None:
        ratio = value / baseline_value if baseline_value > 0 else math.inf
    verdicts = []
    targets = []
    if max_ratio is not None:
        verdicts.append(ratio <= max_ratio)
        targets.append(f"<= {max_ratio:g}x")
    if min_ratio is not None:
        verdicts.append(ratio >= min_ratio)
        targets.append(f">= {min_ratio:g}x")
    passed = all(verdicts) if verdicts else None
    return Row(
        benchmark,
        name,
        value,
        unit,
        baseline,
        baseline_value,
        ratio,
        max_ratio,
        passed,
        ", ".join(targets),
        min_ratio,
    )


def check(benchmark: str, name: str, holds: bool, expectation: str) -> Row:
    """A yes/no fact that must hold, e.g. ``boto3 not in sys.modules``."""
    return Row(benchmark, name, holds, "bool", passed=holds, target_text=expectation)


def skipped(benchmark: str, name: str, reason: str) -> Row:
    """A row that could not be measured in this run (a missing tool), with the reason.

    It has no verdict, so it neither passes nor misses; the table says "skipped".
    """
    return Row(benchmark, name, False, "", target_text=reason, skipped=reason)

"""Timing that survives a noisy machine: interleaved rounds and medians.

Contestants run one after another inside each round (in a rotating order), so a burst of
load from elsewhere hits all of them alike; figures are medians over rounds and ratios are
medians of per-round ratios (see :class:`Samples`). Keep one sample short (one Lambda
invocation, not twenty): with other processes sharing the CPUs, a long sample is more
often preempted than a short one, which biases the ratio against the slower contestant.
The
garbage collector is paused inside a timed sample, as ``timeit`` does, so a collection
triggered by one contestant's garbage is not charged to whichever runs next.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Budget:
    """How many repetitions a run may spend: ``quick`` is the CI smoke setting."""

    rounds: int
    """Interleaved rounds for in-process timings (each contestant once per round)."""
    warmup_rounds: int
    processes: int
    """Fresh interpreters started per contestant for import timings."""
    smoke: bool = False
    """The CI smoke setting: benchmarks that count tasks rather than rounds run fewer."""

    @classmethod
    def full(cls) -> Budget:
        return cls(rounds=3000, warmup_rounds=100, processes=15)

    @classmethod
    def quick(cls) -> Budget:
        return cls(rounds=300, warmup_rounds=20, processes=3, smoke=True)


class Samples:
    """Per-round timings of several contestants, taken side by side.

    Ratios are paired: the median over rounds of ``a[i] / b[i]``. A burst of load that
    slows one whole round then cancels out, where a ratio of two medians would not.
    """

    def __init__(self, by_name: Mapping[str, Sequence[float]]) -> None:
        self._by_name = {name: list(values) for name, values in by_name.items()}

    def median(self, name: str) -> float:
        return statistics.median(self._by_name[name])

    def ratio(self, name: str, baseline: str) -> float:
        pairs = zip(self._by_name[name], self._by_name[baseline], strict=True)
        return statistics.median(a / b if b > 0 else math.inf for a, b in pairs)

    def derived(self, name: str, combine: Callable[[Mapping[str, float]], float]) -> Samples:
        """A copy with contestant ``name`` computed round by round from the others."""
        rounds = len(next(iter(self._by_name.values())))
        values = [combine({k: v[i] for k, v in self._by_name.items()}) for i in range(rounds)]
        return Samples({**self._by_name, name: values})


def interleaved(
    contestants: Mapping[str, Callable[[], object]],
    *,
    rounds: int,
    warmup_rounds: int = 0,
) -> Samples:
    """Nanoseconds of one call of each contestant, per round, in rotating order."""
    names = list(contestants)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for index in range(warmup_rounds + rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            elapsed = _timed(contestants[name])
            if index >= warmup_rounds:
                samples[name].append(elapsed)
    return Samples(samples)


def _timed(call: Callable[[], object]) -> int:
    gc.disable()
    try:
        started = time.perf_counter_ns()
        call()
        return time.perf_counter_ns() - started
    finally:
        gc.enable()

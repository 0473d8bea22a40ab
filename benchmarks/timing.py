"""Timing that survives a noisy machine: interleaved rounds and medians.

Contestants run one after another inside each round (in a rotating order), so a burst of
load from elsewhere hits all of them alike; each keeps the median of its rounds. The
garbage collector is paused inside a timed sample, as ``timeit`` does, so a collection
triggered by one contestant's garbage is not charged to whichever runs next.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Budget:
    """How many repetitions a run may spend: ``quick`` is the CI smoke setting."""

    rounds: int
    """Interleaved rounds for in-process timings (each contestant once per round)."""
    warmup_rounds: int
    processes: int
    """Fresh interpreters started per contestant for import timings."""

    @classmethod
    def full(cls) -> Budget:
        return cls(rounds=300, warmup_rounds=20, processes=15)

    @classmethod
    def quick(cls) -> Budget:
        return cls(rounds=25, warmup_rounds=3, processes=3)


def interleaved_medians(
    contestants: Mapping[str, Callable[[], object]],
    *,
    rounds: int,
    warmup_rounds: int = 0,
) -> dict[str, float]:
    """Median nanoseconds of one call of each contestant, over interleaved rounds."""
    names = list(contestants)
    samples: dict[str, list[int]] = {name: [] for name in names}
    for index in range(warmup_rounds + rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            elapsed = _timed(contestants[name])
            if index >= warmup_rounds:
                samples[name].append(elapsed)
    return {name: statistics.median(values) for name, values in samples.items()}


def _timed(call: Callable[[], object]) -> int:
    gc.disable()
    try:
        started = time.perf_counter_ns()
        call()
        return time.perf_counter_ns() - started
    finally:
        gc.enable()

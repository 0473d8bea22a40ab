"""``python -m benchmarks``: run the registered benchmarks and print one table.

Exit status: 0 when every benchmark ran (a missed target is reported, not fatal, since
timings on shared machines wobble), 1 with ``--strict`` and a missed target or failed
check, 2 when a benchmark could not run at all.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Sequence

from benchmarks import registry, report
from benchmarks.rows import Row
from benchmarks.timing import Budget


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.list:
        print(_listing())
        return 0
    try:
        selected = registry.select(args.only or [])
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    budget = Budget.quick() if args.quick else Budget.full()
    started = time.monotonic()
    rows, broken = _run_all(selected, budget)
    print(report.table(rows))
    if args.write:
        command = " ".join(["python -m benchmarks", *(argv if argv is not None else sys.argv[1:])])
        path = report.write_results(rows, command, time.monotonic() - started)
        print(f"\nwrote {path}", file=sys.stderr)
    missed = [row for row in rows if row.passed is False]
    if broken:
        return 2
    return 1 if args.strict and missed else 0


def _run_all(selected: Sequence[registry.Benchmark], budget: Budget) -> tuple[list[Row], list[str]]:
    """Every selected benchmark, in order; one that crashes is reported and skipped."""
    rows: list[Row] = []
    broken: list[str] = []
    for benchmark in selected:
        print(f"running {benchmark.name} ...", file=sys.stderr, flush=True)
        try:
            rows.extend(benchmark.run(budget))
        except Exception:
            traceback.print_exc()
            broken.append(benchmark.name)
    return rows, broken


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few repetitions: a CI smoke run (about 40 s)")
    parser.add_argument("--only", action="append", metavar="NAME", help="run only NAME (repeatable)")
    parser.add_argument("--write", action="store_true", help=f"also write {report.RESULTS_PATH.name}")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--list", action="store_true", help="list benchmarks, written and planned")
    return parser


def _listing() -> str:
    written = [f"  {b.name:20} {b.summary}" for b in registry.BENCHMARKS]
    planned = [f"  {p.name:20} {p.summary}" for p in registry.PLANNED]
    if planned:
        planned.insert(0, "planned (not written yet):")
    return "\n".join(["benchmarks:", *written, *planned])


if __name__ == "__main__":
    sys.exit(main())

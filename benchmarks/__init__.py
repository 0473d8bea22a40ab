"""taskworker's benchmarks: ``python -m benchmarks [--quick] [--only NAME] [--write]``.

Every timed figure is reported as a ratio against a baseline measured in the same run
(powertools, a hand-written loop, a bare import), because absolute times on shared
machines are noise. To add a benchmark: write ``benchmarks/<name>.py`` with
``run(budget: Budget) -> list[Row]`` and add one line to :mod:`benchmarks.registry`.
"""

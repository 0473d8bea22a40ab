"""``taskworker dev`` fires the app's schedules on their own expressions, through the client.

A background thread waits until the earliest next run, submits that schedule's task with
its payload (exactly what the deployed schedule puts on the queue), and works out the
following run from the one just fired. A clock that jumped past several runs fires once,
not once per missed run. The clock and the wait are injectable, so tests need no sleeps.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from taskworker.client import TaskClient
    from taskworker.schedules import ScheduleSpec

IDLE_WAIT = 3600.0
"""How long to wait when no schedule has a next run (``at()`` ones that are over)."""


class ScheduleFirer:
    """Fires ``schedules`` through ``client`` until :meth:`stop`."""

    def __init__(
        self,
        schedules: list[ScheduleSpec],
        client: TaskClient,
        *,
        printer: Callable[[str], None] = print,
        clock: Callable[[], float] = time.time,
        wait: Callable[[float], object] | None = None,
    ) -> None:
        self.schedules = schedules
        self.client = client
        self.printer = printer
        self.clock = clock
        self._stop = threading.Event()
        self._wait = wait or self._stop.wait
        self._thread: threading.Thread | None = None
        now = self._now()
        self.next_runs: dict[str, datetime | None] = {spec.name: spec.next_run(now) for spec in schedules}
        self.fired: list[tuple[str, str]] = []
        """(schedule name, task id) of every run fired, in order."""

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="taskworker-schedules", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wait(self.fire_due())

    def fire_due(self) -> float:
        """Fire every schedule that is due; the seconds until the next one is."""
        now = self._now()
        for spec in self.schedules:
            due = self.next_runs[spec.name]
            if due is None or due > now:
                continue
            self._fire(spec)
            following = spec.next_run(due)
            self.next_runs[spec.name] = (
                spec.next_run(now) if following is not None and following <= now else following
            )
        upcoming = [due for due in self.next_runs.values() if due is not None]
        return max(0.0, (min(upcoming) - now).total_seconds()) if upcoming else IDLE_WAIT

    def _fire(self, spec: ScheduleSpec) -> None:
        try:
            handle = self.client.submit(spec.task_type, json.loads(spec.body))
        except Exception as exc:
            self.printer(
                f"schedule {spec.name}: could not submit {spec.task_type}: {type(exc).__name__}: {exc}"
            )
            return
        self.fired.append((spec.name, handle.task_id))
        self.printer(f"schedule {spec.name}: submitted {spec.task_type} as {handle.task_id}")

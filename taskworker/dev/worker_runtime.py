"""The container worker inside the dev stack: the same Worker, in a background thread.

Short long-polls and a short grace period keep Ctrl-C quick; everything else is the
worker a container would run, so ``--runtime worker`` exercises the production path.
"""

from __future__ import annotations

import threading

from taskworker.app import TaskApp
from taskworker.handlers.worker import Worker, WorkerOptions


class BackgroundWorker:
    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self._thread = threading.Thread(target=worker.run, name="taskworker-worker", daemon=True)

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        self.worker.wait_started(timeout)

    def request_stop(self) -> None:
        """Begin the worker's graceful stop without waiting for it."""
        self.worker.stop()

    def stop(self, timeout: float = 10.0) -> None:
        self.request_stop()
        self._thread.join(timeout)


def start_worker(app: TaskApp, concurrency: int) -> BackgroundWorker:
    options = WorkerOptions(concurrency=concurrency, wait_time_seconds=1, grace_seconds=5.0)
    background = BackgroundWorker(Worker.for_app(app, options))
    background.start()
    return background

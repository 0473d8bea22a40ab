"""The bench app: the shared workload registered as a taskworker task.

``Settings()`` turns every AWS feature off, as a bare deployment would, so handling a
healthy batch needs no AWS client and must not import boto3.
"""

from __future__ import annotations

from benchmarks.workload import TASK_TYPE, touch
from taskworker import Settings, TaskApp


def build_app() -> TaskApp:
    """A fresh app, so no state carries over between benchmarks."""
    app = TaskApp("bench", settings=Settings())
    app.task(TASK_TYPE)(touch)
    return app

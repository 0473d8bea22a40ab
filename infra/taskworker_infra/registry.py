"""Read the task registry and the queue declarations of a TaskApp at synth time.

The API needs one route and one request model per task, each writing to its task's queue,
and every queue's consumer timeout depends on that queue's slowest task, so the
infrastructure is derived from the app instead of being configured by hand (a new task or
queue cannot be forgotten in the API or the consumers).
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from taskworker.queues import DEFAULT_QUEUE, QueueSpec

__all__ = [
    "AppSpec",
    "TaskSpec",
    "app_module",
    "load_app_spec",
    "load_task_specs",
    "module_source",
    "spec_of_app",
    "specs_from_registry",
]

# What API Gateway accepts as a static path part; task names become path parts.
_TASK_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


@dataclass(frozen=True)
class TaskSpec:
    """What the infrastructure needs to know about one registered task."""

    name: str
    timeout: float | None
    input_schema: Mapping[str, Any]
    queue: str = DEFAULT_QUEUE
    message_group: str | None = None
    """The group of the task's messages on a FIFO queue: ``TaskDefinition.group``, as the client sends it."""


@dataclass(frozen=True)
class AppSpec:
    """The tasks and the queues of an app: what ``AsyncTaskService`` deploys.

    ``queues`` holds every queue the app knows, the default queue first (implicit, i.e.
    ``declared=False``, until the app declares it), as the core's ``TaskApp.queues``.
    """

    tasks: tuple[TaskSpec, ...]
    queues: tuple[QueueSpec, ...]

    def tasks_on(self, queue: str) -> tuple[TaskSpec, ...]:
        return tuple(task for task in self.tasks if task.queue == queue)

    @property
    def declares_queues(self) -> bool:
        """Whether the app declared any queue (else it is a one-queue app, as before queues)."""
        return any(queue.declared for queue in self.queues)


def load_app_spec(app: str, *, search_path: Path | None = None) -> AppSpec:
    """Import the TaskApp named ``module:attribute`` and describe its tasks and queues.

    ``search_path`` (the project root) is put first on ``sys.path`` while importing, so
    ``cdk synth`` run from ``infra/`` finds the project's own packages. ``load_app`` runs
    ``app.check()``: a task on an undeclared queue stops synth with the core's message.
    """
    with _importable_from(search_path):
        from taskworker import load_app

        task_app = load_app(app)
    return spec_of_app(task_app)


def load_task_specs(app: str, *, search_path: Path | None = None) -> tuple[TaskSpec, ...]:
    """The tasks of the TaskApp named ``module:attribute`` (see :func:`load_app_spec`)."""
    return load_app_spec(app, search_path=search_path).tasks


def spec_of_app(task_app: Any) -> AppSpec:
    """Describe a loaded ``TaskApp``: its checked tasks and its queues, default first."""
    task_app.check()
    return AppSpec(tasks=specs_from_registry(task_app.registry), queues=tuple(task_app.queues.values()))


def specs_from_registry(tasks: Mapping[str, Any]) -> tuple[TaskSpec, ...]:
    """Turn ``TaskApp.registry`` into specs, rejecting names API Gateway cannot route."""
    specs = []
    for name, definition in sorted(tasks.items()):
        if not _TASK_NAME.match(name):
            raise ValueError(
                f"task name {name!r} cannot be an API path part: use letters, digits, '.', '_', '-'"
            )
        specs.append(
            TaskSpec(
                name=name,
                timeout=definition.timeout,
                input_schema=definition.input_schema(),
                queue=definition.queue,
                message_group=definition.group,
            )
        )
    if not specs:
        raise ValueError("the TaskApp has no registered tasks: nothing to deploy")
    return tuple(specs)


def app_module(app: str) -> str:
    """Return the module part of a ``module:attribute`` app path."""
    module, sep, attribute = app.partition(":")
    if not sep or not module or not attribute:
        raise ValueError(f"app must look like 'package.module:attribute', got {app!r}")
    return module


def module_source(name: str) -> Path:
    """Where the importable top-level module ``name`` lives (a package dir or a ``.py`` file).

    The Lambda asset ships exactly the code that was introspected at synth time.
    """
    spec = importlib.util.find_spec(name)
    if spec is None:
        raise ValueError(f"cannot find module {name!r} to package it")
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    if spec.origin is None or not spec.origin.endswith(".py"):
        raise ValueError(f"module {name!r} is not plain Python source and cannot be packaged")
    return Path(spec.origin)


@contextmanager
def _importable_from(path: Path | None) -> Iterator[None]:
    if path is None or str(path) in sys.path:
        yield
        return
    sys.path.insert(0, str(path))
    try:
        yield
    finally:
        sys.path.remove(str(path))

"""Read the task registry of a TaskApp at synth time.

The API needs one route and one request model per task, and the consumer's timeout depends on
the slowest task, so the infrastructure is derived from the registry instead of being
configured by hand (a new task cannot be forgotten in the API).
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

__all__ = ["TaskSpec", "app_module", "load_task_specs", "module_source", "specs_from_registry"]

# What API Gateway accepts as a static path part; task names become path parts.
_TASK_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


@dataclass(frozen=True)
class TaskSpec:
    """What the infrastructure needs to know about one registered task."""

    name: str
    timeout: float | None
    input_schema: Mapping[str, Any]


def load_task_specs(app: str, *, search_path: Path | None = None) -> tuple[TaskSpec, ...]:
    """Import the TaskApp named ``module:attribute`` and describe its tasks.

    ``search_path`` (the project root) is put first on ``sys.path`` while importing, so
    ``cdk synth`` run from ``infra/`` finds the project's own packages.
    """
    with _importable_from(search_path):
        from taskworker import load_app

        task_app = load_app(app)
    return specs_from_registry(task_app.registry)


def specs_from_registry(tasks: Mapping[str, Any]) -> tuple[TaskSpec, ...]:
    """Turn ``TaskApp.registry`` into specs, rejecting names API Gateway cannot route."""
    specs = []
    for name, definition in sorted(tasks.items()):
        if not _TASK_NAME.match(name):
            raise ValueError(
                f"task name {name!r} cannot be an API path part: use letters, digits, '.', '_', '-'"
            )
        timeout = definition.timeout
        specs.append(TaskSpec(name=name, timeout=timeout, input_schema=definition.input_schema()))
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

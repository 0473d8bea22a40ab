"""The user's project: where the app's code lives and what it declares it depends on.

``cdk synth`` runs in the user's project, not in this repository, so the project is found
from the app itself: the directory of the app's top-level package, walked up to the nearest
``pyproject.toml`` or ``requirements.txt``. Its declared dependencies go into the assets,
except the library itself (the assets take it from the installed distribution, never from
an index by name) and, unless asked for, the AWS SDK the Lambda runtime already provides.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from .distribution import DISTRIBUTION, RUNTIME_PACKAGE
from .registry import module_source

__all__ = ["PROJECT_FILES", "Project", "find_project"]

PROJECT_FILES = ("pyproject.toml", "requirements.txt")
# Names under which a project may list the library; none of them is resolved from an index.
_LIBRARY_NAMES = frozenset({canonicalize_name(DISTRIBUTION), canonicalize_name(RUNTIME_PACKAGE)})


@dataclass(frozen=True)
class Project:
    """A user's project: its root, the app's top-level package (its name, and the directory
    or single-module file it was imported from), and its declared requirements."""

    root: Path
    package: str
    package_source: Path
    requirements: tuple[str, ...]


def find_project(package: str, *, root: Path | None = None) -> Project:
    """The project of the importable top-level ``package``; ``root`` overrides the search."""
    source = module_source(package)
    project_root = root.resolve() if root else _nearest_project_root(source, package)
    return Project(
        root=project_root,
        package=package,
        package_source=source,
        requirements=declared_requirements(project_root),
    )


def declared_requirements(root: Path) -> tuple[str, ...]:
    """``[project].dependencies`` of ``pyproject.toml``, else ``requirements.txt``, minus the
    library itself; a requirement that cannot be parsed is an error naming its file."""
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        with pyproject.open("rb") as handle:
            table = tomllib.load(handle).get("project")
        if table is not None:
            return _without_library(table.get("dependencies", ()), pyproject)
    requirements = root / "requirements.txt"
    if requirements.is_file():
        return _without_library(_requirement_lines(requirements), requirements)
    return ()


def _nearest_project_root(source: Path, package: str) -> Path:
    for directory in source.resolve().parents:
        if any((directory / name).is_file() for name in PROJECT_FILES):
            return directory
    raise ValueError(
        f"no pyproject.toml or requirements.txt above {source} (the code of {package!r}): "
        "pass project_root= to AsyncTaskService"
    )


def _requirement_lines(path: Path) -> list[str]:
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            raise ValueError(
                f"{path}: pip options ({line!r}) are not supported here; list plain requirements "
                "(name and version) or declare them in pyproject.toml"
            )
        lines.append(line)
    return lines


def _without_library(requirements: object, origin: Path) -> tuple[str, ...]:
    if not isinstance(requirements, list | tuple):
        raise ValueError(f"{origin}: dependencies must be a list of requirement strings")
    kept = []
    for text in requirements:
        try:
            requirement = Requirement(str(text))
        except InvalidRequirement as exc:
            raise ValueError(f"{origin}: invalid requirement {text!r}: {exc}") from exc
        if canonicalize_name(requirement.name) not in _LIBRARY_NAMES:
            kept.append(str(requirement))
    return tuple(kept)

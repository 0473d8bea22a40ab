"""Pick the Lambda Python runtime, the matching wheel platform, and a Python to compile for it.

The rule for the default runtime: **the newest Python runtime that Lambda still accepts for
new functions and that this machine can compile bytecode for**, i.e. has a working CPython
of that minor version (the one running ``cdk synth``, or a ``python3.X`` on ``PATH``).
Bytecode matters (``/var/task`` is read-only: without it every cold start compiles every
module) and only the runtime's own minor version can write it. If no such Python is here,
the newest accepted runtime is used and the asset ships sources only, with a warning.
``ConsumerOptions(runtime=...)`` pins the runtime (same templates on every machine).
"""

from __future__ import annotations

import datetime
import functools
import platform
import re
import shutil
import subprocess
import sys

from aws_cdk import aws_lambda as lambda_

__all__ = [
    "default_python_runtime",
    "host_python_version",
    "interpreter_for",
    "latest_python_runtime",
    "matches_host_machine",
    "pip_platform",
    "python_version",
]

_PYTHON3 = re.compile(r"^python3\.(\d+)$")
_OLDEST_MINOR = 11  # the library's requires-python
# AWS's published dates after which Lambda refuses to create functions on these runtimes.
_CREATE_BLOCKED_FROM = {
    "python3.11": datetime.date(2026, 7, 31),
    "python3.12": datetime.date(2028, 11, 30),
    "python3.13": datetime.date(2029, 7, 31),
    "python3.14": datetime.date(2029, 7, 31),
}
_MACHINES = {"arm64": ("aarch64", "arm64"), "x86_64": ("x86_64", "amd64")}


def _python_runtimes() -> dict[str, lambda_.Runtime]:
    return {r.name: r for r in lambda_.Runtime.ALL if _PYTHON3.match(r.name)}


def latest_python_runtime() -> lambda_.Runtime:
    """The newest Python 3 runtime this aws-cdk-lib knows (upgrading CDK moves it forward)."""
    return max(_python_runtimes().values(), key=_minor)


def host_python_version() -> str:
    """``"3.11"`` when ``cdk synth`` runs on CPython 3.11."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def default_python_runtime(today: datetime.date | None = None) -> lambda_.Runtime:
    """The runtime the module's rule picks on this machine (``today`` for the deprecations)."""
    accepted = [r for r in _newest_first() if _accepts_new_functions(r, today or datetime.date.today())]
    for runtime in accepted:
        if interpreter_for(python_version(runtime)) is not None:
            return runtime
    return accepted[0] if accepted else latest_python_runtime()


def _newest_first() -> list[lambda_.Runtime]:
    runtimes = [r for r in _python_runtimes().values() if _minor(r) >= _OLDEST_MINOR]
    return sorted(runtimes, key=_minor, reverse=True)


def _minor(runtime: lambda_.Runtime) -> int:
    return int(_PYTHON3.match(runtime.name).group(1))  # type: ignore[union-attr]


def _accepts_new_functions(runtime: lambda_.Runtime, today: datetime.date) -> bool:
    blocked_from = _CREATE_BLOCKED_FROM.get(runtime.name)
    return blocked_from is None or today < blocked_from


def python_version(runtime: lambda_.Runtime) -> str:
    """``"3.14"`` for ``python3.14``: the version pip must download wheels for."""
    match = _PYTHON3.match(runtime.name)
    if match is None:
        raise ValueError(f"{runtime.name} is not a Python 3 runtime")
    return f"3.{match.group(1)}"


@functools.cache
def interpreter_for(version: str) -> str | None:
    """A working CPython of ``version``: the synthesizing one, or ``python3.X`` on PATH (run
    once to be sure: a version manager's shim may exist for a version it will not run)."""
    if version == host_python_version() and platform.python_implementation() == "CPython":
        return sys.executable
    found = shutil.which(f"python{version}")
    if found is None:
        return None
    probe = "import platform, sys; print(platform.python_implementation(), *sys.version_info[:2])"
    try:
        answer = subprocess.run([found, "-c", probe], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return found if answer.stdout.split() == ["CPython", *version.split(".")] else None


def pip_platform(architecture: lambda_.Architecture) -> str:
    """The manylinux platform tag whose wheels run on ``architecture`` in Lambda."""
    machine = {"arm64": "aarch64", "x86_64": "x86_64"}[architecture.name]
    return f"manylinux2014_{machine}"


def matches_host_machine(architecture: lambda_.Architecture) -> bool:
    """Whether this machine runs Lambda's Linux binaries of ``architecture`` natively."""
    return sys.platform == "linux" and platform.machine().lower() in _MACHINES[architecture.name]

"""Pick the Lambda Python runtime, the matching wheel platform, and a Python to compile for it.

The rule for the default runtime: **the Python version that runs ``cdk synth``**, when this
aws-cdk-lib knows a Lambda runtime for it (else the newest one it knows). Bytecode must be
compiled by the runtime's own minor version, and the synthesizing interpreter is the one
Python sure to be there, so this is the newest runtime whose bytecode the asset can ship.
An explicit ``ConsumerOptions(runtime=...)`` is compiled by a ``python3.X`` of that version
found on ``PATH``; without one the asset ships sources only (slower cold starts).
"""

from __future__ import annotations

import platform
import re
import shutil
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
_MACHINES = {"arm64": ("aarch64", "arm64"), "x86_64": ("x86_64", "amd64")}


def _python_runtimes() -> dict[str, lambda_.Runtime]:
    return {r.name: r for r in lambda_.Runtime.ALL if _PYTHON3.match(r.name)}


def latest_python_runtime() -> lambda_.Runtime:
    """The newest Python 3 runtime this aws-cdk-lib knows (upgrading CDK moves it forward)."""
    known = _python_runtimes().values()
    return max(known, key=lambda r: int(_PYTHON3.match(r.name).group(1)))  # type: ignore[union-attr]


def host_python_version() -> str:
    """``"3.11"`` when ``cdk synth`` runs on CPython 3.11."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def default_python_runtime() -> lambda_.Runtime:
    """The runtime of the synthesizing Python (see the module's rule), else the newest."""
    return _python_runtimes().get(f"python{host_python_version()}") or latest_python_runtime()


def python_version(runtime: lambda_.Runtime) -> str:
    """``"3.14"`` for ``python3.14``: the version pip must download wheels for."""
    match = _PYTHON3.match(runtime.name)
    if match is None:
        raise ValueError(f"{runtime.name} is not a Python 3 runtime")
    return f"3.{match.group(1)}"


def interpreter_for(version: str) -> str | None:
    """A CPython of ``version`` on this machine: the synthesizing one, or ``python3.X`` on PATH."""
    if version == host_python_version() and platform.python_implementation() == "CPython":
        return sys.executable
    return shutil.which(f"python{version}")


def pip_platform(architecture: lambda_.Architecture) -> str:
    """The manylinux platform tag whose wheels run on ``architecture`` in Lambda."""
    machine = {"arm64": "aarch64", "x86_64": "x86_64"}[architecture.name]
    return f"manylinux2014_{machine}"


def matches_host_machine(architecture: lambda_.Architecture) -> bool:
    """Whether this machine runs Lambda's Linux binaries of ``architecture`` natively."""
    return sys.platform == "linux" and platform.machine().lower() in _MACHINES[architecture.name]

"""Pick the Lambda Python runtime and the matching wheel platform for dependencies."""

from __future__ import annotations

import re

from aws_cdk import aws_lambda as lambda_

__all__ = ["latest_python_runtime", "pip_platform", "python_version"]

_PYTHON3 = re.compile(r"^python3\.(\d+)$")


def latest_python_runtime() -> lambda_.Runtime:
    """The newest Python 3 runtime this aws-cdk-lib knows (upgrading CDK moves it forward)."""
    known = [r for r in lambda_.Runtime.ALL if _PYTHON3.match(r.name)]
    return max(known, key=lambda r: int(_PYTHON3.match(r.name).group(1)))  # type: ignore[union-attr]


def python_version(runtime: lambda_.Runtime) -> str:
    """``"3.14"`` for ``python3.14``: the version pip must download wheels for."""
    match = _PYTHON3.match(runtime.name)
    if match is None:
        raise ValueError(f"{runtime.name} is not a Python 3 runtime")
    return f"3.{match.group(1)}"


def pip_platform(architecture: lambda_.Architecture) -> str:
    """The manylinux platform tag whose wheels run on ``architecture`` in Lambda."""
    machine = {"arm64": "aarch64", "x86_64": "x86_64"}[architecture.name]
    return f"manylinux2014_{machine}"

"""Build the consumer's Lambda asset without Docker.

CDK's Python bundling runs pip inside a Docker container; this machine (and many CI runners)
has no Docker engine. Instead, ``ILocalBundling`` runs pip on the host, asking for wheels of
the Lambda's platform and Python version (``--platform``/``--python-version``/
``--only-binary``), which is exactly what the container would produce for pure and
manylinux packages. The project's own code is copied from where it was imported at synth
time, so the asset runs the same code whose registry shaped the API.

The asset hash is computed here from the real inputs (sources, requirements, platform), so
CDK re-bundles exactly when one of them changes and reuses ``cdk.out`` otherwise.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from .registry import module_source
from .runtime import pip_platform, python_version

__all__ = ["LambdaPackage", "project_requirements"]

_BUILDER_VERSION = "1"  # bump when the layout of the asset changes
_SKIP_DIRS = frozenset({"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"})


def project_requirements(project_root: Path) -> tuple[str, ...]:
    """The runtime dependencies declared in ``pyproject.toml`` (``[project].dependencies``)."""
    with (project_root / "pyproject.toml").open("rb") as handle:
        project = tomllib.load(handle)["project"]
    return tuple(project.get("dependencies", ()))


@dataclass(frozen=True)
class LambdaPackage:
    """Everything that goes into the Lambda asset, and how to build it."""

    modules: tuple[str, ...]
    requirements: tuple[str, ...]
    runtime: lambda_.Runtime
    architecture: lambda_.Architecture

    def code(self) -> lambda_.Code:
        """A ``Code`` asset that is bundled locally (never in Docker)."""
        source = module_source(self.modules[0])
        return lambda_.Code.from_asset(
            str(source if source.is_dir() else source.parent),
            asset_hash=self.fingerprint(),
            asset_hash_type=AssetHashType.CUSTOM,
            bundling=BundlingOptions(
                image=self.runtime.bundling_image,
                local=_LocalPip(self),
                command=["false"],  # never used: local bundling either succeeds or raises
            ),
        )

    def fingerprint(self) -> str:
        """SHA-256 over every input of the build, in a stable order."""
        digest = hashlib.sha256()
        for part in (_BUILDER_VERSION, self.pip_platform, self.python_version, *self.requirements):
            digest.update(part.encode() + b"\0")
        for name in self.modules:
            for path, relative in _source_files(module_source(name)):
                digest.update(f"{name}/{relative}".encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()

    @property
    def pip_platform(self) -> str:
        return pip_platform(self.architecture)

    @property
    def python_version(self) -> str:
        return python_version(self.runtime)

    def build(self, output_dir: Path) -> None:
        """Install the dependencies for Lambda's platform, then copy the project's modules."""
        if self.requirements:
            _run(self.pip_command(output_dir))
        for name in self.modules:
            source = module_source(name)
            for path, relative in _source_files(source):
                target = output_dir / (source.name if source.is_file() else Path(name) / relative)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)

    def pip_command(self, output_dir: Path) -> list[str]:
        """The pip invocation that fetches manylinux wheels for the Lambda runtime."""
        return [
            sys.executable, "-m", "pip", "install",
            "--quiet", "--disable-pip-version-check", "--no-compile",
            "--target", str(output_dir),
            "--platform", self.pip_platform,
            "--implementation", "cp",
            "--python-version", self.python_version,
            "--only-binary=:all:",
            *self.requirements,
        ]  # fmt: skip


@jsii.implements(ILocalBundling)
class _LocalPip:
    """CDK's hook for bundling on the host; raising beats a silent fallback to Docker."""

    def __init__(self, package: LambdaPackage) -> None:
        self._package = package

    def try_bundle(self, output_dir: str, options: Any = None, **_: Any) -> bool:
        # jsii passes the BundlingOptions struct positionally; the host build ignores it
        self._package.build(Path(output_dir))
        return True


def _source_files(source: Path) -> Iterator[tuple[Path, str]]:
    """Python sources and data of a module (file or package), skipping caches, sorted."""
    if source.is_file():
        yield source, source.name
        return
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_file() and not _SKIP_DIRS.intersection(relative.parts) and path.suffix != ".pyc":
            yield path, relative.as_posix()


def _run(command: Sequence[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            "installing the Lambda dependencies failed "
            f"(exit {result.returncode}): {' '.join(command)}\n{result.stderr[-4000:]}"
        )

"""Build the consumer's Lambda asset from the user's project, without Docker.

CDK's Python bundling runs pip inside a Docker container; this machine (and many CI runners)
has no Docker engine. Instead, ``ILocalBundling`` builds the asset on the host:

1. pip installs, for the Lambda's platform and Python version (``--platform``,
   ``--python-version``, ``--only-binary=:all:``), the library as a wheel built from the
   installed distribution plus the project's declared dependencies: exactly what the
   container would produce for pure and manylinux packages, and the library is never
   looked up by name in an index.
2. The AWS SDK (boto3, botocore, s3transfer) is removed again unless a pinned one is asked
   for: the runtime provides it, and it is two thirds of the asset.
3. The app's package is copied from where it was imported at synth time, so the asset runs
   the code whose registry shaped the API.
4. Everything is compiled to bytecode by a Python of the runtime's version, with
   hash-based invalidation: ``/var/task`` is read-only, so without ``.pyc`` every cold start
   compiles every module, and CDK's zip resets the modification times that the default
   ``.pyc`` check compares.
5. The app is imported from the asset (``asset_check``): a missing dependency fails synth.

The asset hash is computed here from the real inputs, so CDK re-bundles exactly when one of
them changes and reuses ``cdk.out`` otherwise.
"""

from __future__ import annotations

import email.parser
import hashlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .asset_check import check_imports_in_process, check_imports_statically
from .distribution import installed_library, source_files
from .project import Project
from .runtime import interpreter_for, matches_host_machine, pip_platform, python_version

__all__ = ["RUNTIME_SDK", "LambdaPackage"]

_BUILDER_VERSION = "2"  # bump when the layout of the asset changes
# Distributions the Lambda runtime provides; removed from the asset unless bundled on purpose.
RUNTIME_SDK = ("boto3", "botocore", "s3transfer")
# What the SDK pulls in; removed with it when nothing else left in the asset requires them.
_SDK_DEPENDENCIES = frozenset({"jmespath", "python-dateutil", "six", "urllib3"})


@dataclass(frozen=True)
class LambdaPackage:
    """Everything that goes into the Lambda asset, and how to build it.

    ``bundle_boto3`` is a requirement such as ``"boto3==1.40.0"`` to ship a pinned SDK
    instead of the runtime's.
    """

    app: str
    project: Project
    runtime: lambda_.Runtime
    architecture: lambda_.Architecture
    bundle_boto3: str | None = None

    def code(self) -> lambda_.Code:
        """A ``Code`` asset that is bundled locally (never in Docker)."""
        source = self.project.package_source
        return lambda_.Code.from_asset(
            str(source if source.is_dir() else source.parent),
            asset_hash=self.fingerprint(),
            asset_hash_type=AssetHashType.CUSTOM,
            bundling=BundlingOptions(
                image=self.runtime.bundling_image,
                local=_LocalBuild(self),
                command=["false"],  # never used: local bundling either succeeds or raises
            ),
        )

    def fingerprint(self) -> str:
        """SHA-256 over every input of the build, in a stable order."""
        digest = hashlib.sha256()
        parts = (_BUILDER_VERSION, self.app, self.pip_platform, self.python_version, *self.requirements)
        for part in (*parts, installed_library().fingerprint()):
            digest.update(part.encode() + b"\0")
        for path, relative in source_files(self.project.package_source):
            digest.update(f"{relative}".encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()

    @property
    def pip_platform(self) -> str:
        return pip_platform(self.architecture)

    @property
    def python_version(self) -> str:
        return python_version(self.runtime)

    @property
    def requirements(self) -> tuple[str, ...]:
        """The project's requirements, plus the pinned SDK when one is bundled."""
        return (*self.project.requirements, *([self.bundle_boto3] if self.bundle_boto3 else []))

    @property
    def runs_on_host(self) -> bool:
        """Whether this machine can run the asset as Lambda would (for the import check)."""
        return matches_host_machine(self.architecture) and interpreter_for(self.python_version) is not None

    def build(self, output_dir: Path) -> None:
        """Dependencies for Lambda's platform, the app's code, bytecode, then the import check."""
        library = installed_library()
        with tempfile.TemporaryDirectory(prefix="taskworker-wheel-") as wheels:
            _run(
                self.pip_command(output_dir, library.build_wheel(Path(wheels))), "installing the dependencies"
            )
        if not self.bundle_boto3:
            _remove_distributions(output_dir, RUNTIME_SDK)
        shutil.rmtree(output_dir / "bin", ignore_errors=True)  # console scripts: no use in Lambda
        self._copy_package(output_dir)
        self._compile(output_dir)
        self._check(output_dir)

    def pip_command(self, output_dir: Path, library_wheel: Path) -> list[str]:
        """The pip invocation that fetches manylinux wheels for the Lambda runtime."""
        return [
            sys.executable, "-m", "pip", "install",
            "--quiet", "--disable-pip-version-check", "--no-compile",
            "--target", str(output_dir),
            "--platform", self.pip_platform,
            "--implementation", "cp",
            "--python-version", self.python_version,
            "--only-binary=:all:",
            str(library_wheel),
            *self.requirements,
        ]  # fmt: skip

    def _copy_package(self, output_dir: Path) -> None:
        source = self.project.package_source
        for path, relative in source_files(source):
            target = output_dir / (relative if source.is_file() else Path(self.project.package) / relative)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)

    def _compile(self, output_dir: Path) -> None:
        """Bytecode for the runtime's Python; paths in tracebacks read ``/var/task/...``."""
        interpreter = interpreter_for(self.python_version)
        if interpreter is None:
            print(
                f"taskworker: no working python{self.python_version} here, so the Lambda asset "
                "ships sources only (every cold start compiles them): synthesize with that "
                "Python or put it on PATH",
                file=sys.stderr,
            )
            return
        command = [
            interpreter, "-m", "compileall", "-q", "-q", "-j", "0",
            "--invalidation-mode", "unchecked-hash",
            "-s", str(output_dir), "-p", "/var/task",
            str(output_dir),
        ]  # fmt: skip
        # a file that does not compile (a vendored test, another Python's syntax) fails only
        # if it is imported, which the import check below then reports
        subprocess.run(command, capture_output=True, check=False)

    def _check(self, output_dir: Path) -> None:
        interpreter = interpreter_for(self.python_version)
        if interpreter and self.runs_on_host:
            check_imports_in_process(output_dir, self.app, interpreter=interpreter)
        else:
            check_imports_statically(output_dir, self.project.package_source, self.project.package)


@jsii.implements(ILocalBundling)
class _LocalBuild:
    """CDK's hook for bundling on the host; raising beats a silent fallback to Docker."""

    def __init__(self, package: LambdaPackage) -> None:
        self._package = package

    def try_bundle(self, output_dir: str, options: Any = None, **_: Any) -> bool:
        # jsii passes the BundlingOptions struct positionally; the host build ignores it
        self._package.build(Path(output_dir))
        return True


def _remove_distributions(target: Path, names: Sequence[str]) -> None:
    """Uninstall ``names`` from a ``pip --target`` directory, and then the distributions that
    only they required (botocore's urllib3 and dateutil, unless something else needs them)."""
    installed = {_dist_name(d): d for d in target.glob("*.dist-info")}
    removed = {canonicalize_name(n) for n in names} & installed.keys()
    while removed:
        for name in removed:
            _uninstall(target, installed.pop(name))
        required = {r for d in installed.values() for r in _requires(d)}
        removed = {name for name in installed if name in _SDK_DEPENDENCIES and name not in required}
    for directory in sorted(target.rglob("*"), reverse=True):  # now-empty package directories
        if directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()


def _dist_name(dist_info: Path) -> str:
    return canonicalize_name(dist_info.name.split("-")[0])


def _requires(dist_info: Path) -> set[str]:
    """The names ``dist_info`` requires unconditionally (requirements of extras left out)."""
    metadata = email.parser.Parser().parsestr((dist_info / "METADATA").read_text(encoding="utf-8"))
    found = set()
    for line in metadata.get_all("Requires-Dist") or ():
        requirement = Requirement(line)
        if requirement.marker is None or "extra" not in str(requirement.marker):
            found.add(canonicalize_name(requirement.name))
    return found


def _uninstall(target: Path, dist_info: Path) -> None:
    root = target.resolve()
    for line in (dist_info / "RECORD").read_text(encoding="utf-8").splitlines():
        path = target / line.split(",")[0]
        if path.is_file() and root in path.resolve().parents:
            path.unlink()
    shutil.rmtree(dist_info)


def _run(command: Sequence[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            f"{what} for the Lambda asset failed (exit {result.returncode}): "
            f"{' '.join(command)}\n{result.stderr[-4000:]}"
        )

"""The worker image's build context: the user's project, made at synth time.

``cdk deploy`` builds the image from a directory; if that directory is a checkout of this
library, the user's code is missing and the Dockerfile's ``COPY`` fails long after synth
said all was well. So the context is assembled here, holding exactly what the Dockerfile
copies:

- ``Dockerfile`` (shipped in this package, ``docker/Dockerfile``);
- ``requirements.txt``: the project's declared dependencies (from ``pyproject.toml`` or
  ``requirements.txt``, without the library), installed from the index in the image;
- ``wheels/<library>.whl``: the library, built from the installed distribution, installed
  from the file so its name is never resolved from an index;
- ``app/``: the app's top-level package (or module), as imported at synth time.
"""

from __future__ import annotations

import hashlib
import shutil
from importlib.resources import files
from pathlib import Path

from aws_cdk import IgnoreMode
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs

from .distribution import installed_library, source_files
from .project import Project
from .runtime import host_python_version

__all__ = ["DOCKERFILE", "build_context", "worker_image"]

DOCKERFILE = "Dockerfile"
_CONTEXT_VERSION = "1"  # bump when the context's layout changes


def worker_image(project: Project, *, staging_root: Path) -> ecs.ContainerImage:
    """The worker image as a Docker asset of a context built under ``staging_root``."""
    context = build_context(project, staging_root)
    return ecs.ContainerImage.from_asset(
        str(context),
        file=DOCKERFILE,
        build_args={"PYTHON_VERSION": host_python_version()},
        platform=ecr_assets.Platform.LINUX_ARM64,
        ignore_mode=IgnoreMode.DOCKER,
    )


def build_context(project: Project, staging_root: Path) -> Path:
    """Write the context into ``staging_root/worker-<hash>`` (same inputs, same directory)."""
    library = installed_library()
    requirements = "".join(f"{line}\n" for line in project.requirements)
    digest = hashlib.sha256(f"{_CONTEXT_VERSION}\0{library.fingerprint()}\0{requirements}".encode())
    package_files = list(source_files(project.package_source))
    for path, relative in package_files:
        digest.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")
    context = staging_root / f"worker-{digest.hexdigest()[:16]}"
    if context.is_dir():
        return context
    partial = staging_root / f".{context.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    (partial / DOCKERFILE).write_bytes(files(__package__).joinpath("docker", DOCKERFILE).read_bytes())
    (partial / "requirements.txt").write_text(requirements, encoding="utf-8")
    library.build_wheel(partial / "wheels")
    package_root = partial / "app" / (project.package if project.package_source.is_dir() else "")
    for path, relative in package_files:
        (package_root / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, package_root / relative)
    partial.rename(context)
    return context

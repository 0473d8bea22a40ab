"""The library as installed on the synthesizing machine, turned into a wheel for the assets.

The Lambda asset and the worker image must run the library the user installed, never a
project resolved by name from a package index: PyPI's ``taskworker`` is an unrelated
project, and a name can be taken over. So the assets get a wheel built here from the
installed distribution's own files (its RECORD, or, for an editable install, the package
directory it points at) and metadata. The wheel holds the runtime package ``taskworker``
only: the construct (``taskworker_infra``) is needed at synth time, not in the consumer.

The wheel is byte-for-byte reproducible (sorted entries, fixed timestamps), so the asset
hash changes only when the library does.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.util
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DISTRIBUTION", "RUNTIME_PACKAGE", "InstalledLibrary", "installed_library", "source_files"]

DISTRIBUTION = "taskworker-aws"
RUNTIME_PACKAGE = "taskworker"
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_SKIP_DIRS = frozenset({"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"})
_WHEEL_FILE = "Wheel-Version: 1.0\nGenerator: taskworker_infra\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


@dataclass(frozen=True)
class InstalledLibrary:
    """The installed distribution's runtime files (wheel path -> file) and metadata."""

    name: str
    version: str
    files: tuple[tuple[str, Path], ...]
    metadata: str
    entry_points: str

    @property
    def wheel_name(self) -> str:
        return f"{self.name.replace('-', '_')}-{self.version}-py3-none-any.whl"

    def fingerprint(self) -> str:
        """SHA-256 over the version and every runtime file, for the assets' hashes."""
        digest = hashlib.sha256(f"{self.name}=={self.version}".encode())
        for relative, path in self.files:
            digest.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()

    def build_wheel(self, directory: Path) -> Path:
        """Write ``<name>-<version>-py3-none-any.whl`` into ``directory`` and return its path."""
        dist_info = f"{self.name.replace('-', '_')}-{self.version}.dist-info"
        entries = [(relative, path.read_bytes()) for relative, path in self.files]
        entries += [
            (f"{dist_info}/METADATA", self.metadata.encode()),
            (f"{dist_info}/WHEEL", _WHEEL_FILE.encode()),
            (f"{dist_info}/entry_points.txt", self.entry_points.encode()),
        ]
        record = "".join(f"{name},{_record_hash(data)},{len(data)}\n" for name, data in entries)
        entries.append((f"{dist_info}/RECORD", (record + f"{dist_info}/RECORD,,\n").encode()))
        directory.mkdir(parents=True, exist_ok=True)
        wheel = directory / self.wheel_name
        with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, data in entries:
                info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
                info.external_attr = 0o644 << 16
                archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
        return wheel


def installed_library(name: str = DISTRIBUTION) -> InstalledLibrary:
    """Describe the installed distribution ``name``; a clear error when it is not installed."""
    try:
        dist = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        raise RuntimeError(
            f"the distribution {name!r} is not installed in this Python ({sys.executable}): "
            f'install it (pip install "{name}[infra]") in the environment that runs cdk synth'
        ) from None
    files = _recorded_files(dist) or _package_directory_files()
    return InstalledLibrary(
        name=dist.metadata["Name"],
        version=dist.version,
        files=files,
        metadata=dist.read_text("METADATA") or dist.read_text("PKG-INFO") or "",
        entry_points=dist.read_text("entry_points.txt") or "",
    )


def source_files(source: Path) -> Iterator[tuple[Path, str]]:
    """Python sources and data of a module (file or package), skipping caches, sorted."""
    if source.is_file():
        yield source, source.name
        return
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_file() and not _SKIP_DIRS.intersection(relative.parts) and path.suffix != ".pyc":
            yield path, relative.as_posix()


def _recorded_files(dist: importlib.metadata.Distribution) -> tuple[tuple[str, Path], ...]:
    """The runtime package's files as listed in RECORD: empty for an editable install, and
    for a source checkout's ``.egg-info``, whose file list is as old as its last build."""
    if dist.read_text("RECORD") is None:
        return ()
    found = []
    for entry in dist.files or ():
        if entry.parts[0] == RUNTIME_PACKAGE and "__pycache__" not in entry.parts:
            found.append((entry.as_posix(), Path(str(dist.locate_file(entry)))))
    return tuple(sorted(found))


def _package_directory_files() -> tuple[tuple[str, Path], ...]:
    """An editable install lists no package files: take the package directory it imports."""
    spec = importlib.util.find_spec(RUNTIME_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"the package {RUNTIME_PACKAGE!r} cannot be found in this Python ({sys.executable})"
        )
    root = Path(next(iter(spec.submodule_search_locations)))
    return tuple((f"{RUNTIME_PACKAGE}/{relative}", path) for path, relative in source_files(root))


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"

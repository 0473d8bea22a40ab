"""Prove at synth time that the Lambda asset can import the app, so ``cdk deploy`` cannot
ship a function that fails at its first cold start.

Where the asset runs on this machine (Linux, the function's architecture, a CPython of its
version), the check imports the handler and the app in a fresh, isolated interpreter whose
``sys.path`` is the asset plus the AWS SDK alone, which is how Lambda runs it. Elsewhere (an
arm64 asset built on x86_64, say) it reads the app's package and checks that every
top-level module it imports is in the asset, in the standard library, or provided by the
runtime.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .distribution import source_files

__all__ = [
    "RUNTIME_PROVIDED",
    "AssetImportError",
    "check_imports_in_process",
    "check_imports_statically",
    "link_runtime_sdk",
]

# What the Lambda Python runtimes put on sys.path beside the function's code.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
HANDLER_MODULE = "taskworker.handlers.lambda_sqs"
_TIMEOUT_SECONDS = 120
_CHECK = """
import json, sys
sys.path[:0] = json.loads(sys.argv[1])
import {handler}
from taskworker import load_app
load_app(sys.argv[2])
"""


class AssetImportError(RuntimeError):
    """The packaged app cannot be imported from its asset."""


def check_imports_in_process(asset: Path, app: str, *, interpreter: str) -> None:
    """Import the handler and ``app`` from ``asset`` in a fresh isolated interpreter."""
    with tempfile.TemporaryDirectory(prefix="taskworker-sdk-") as sdk:
        link_runtime_sdk(Path(sdk))
        result = subprocess.run(
            [
                interpreter,
                "-I",
                "-S",
                "-B",
                "-c",
                _CHECK.format(handler=HANDLER_MODULE),
                json.dumps([str(asset), sdk]),
                app,
            ],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_SECONDS,
            env=_clean_environment(app),
            cwd=asset,
            check=False,
        )
    if result.returncode != 0:
        raise AssetImportError(
            f"the Lambda asset cannot import the app {app!r} (checked in a fresh {interpreter} with "
            f"only the asset and the AWS SDK on sys.path):\n{_last_lines(result.stderr)}\n"
            "Declare the missing dependency in the project's pyproject.toml (or requirements.txt)."
        )


def check_imports_statically(asset: Path, package_source: Path, package: str) -> None:
    """Every top-level module the app's modules import must be in the asset or provided.

    The app's modules are those of its package that importing the app loaded (a CDK stack
    kept in the same package is not shipped code); all of the package when it is not loaded.
    """
    available = set(sys.stdlib_module_names) | set(RUNTIME_PROVIDED) | _top_level_names(asset)
    missing: dict[str, str] = {}
    for path in _app_module_files(package_source, package):
        where = path.relative_to(package_source.parent).as_posix()
        for name in _imported_top_level_names(path):
            if name not in available and name != package:
                missing.setdefault(name, where)
    if missing:
        found = ", ".join(f"{name} (imported by {where})" for name, where in sorted(missing.items()))
        raise AssetImportError(
            f"the Lambda asset for {package!r} lacks modules its code imports: {found}. Declare the "
            "distributions that provide them in the project's pyproject.toml (or requirements.txt)."
        )


def _app_module_files(package_source: Path, package: str) -> list[Path]:
    loaded = {
        Path(module.__file__).resolve()
        for name, module in list(sys.modules.items())
        if (name == package or name.startswith(f"{package}.")) and getattr(module, "__file__", None)
    }
    shipped = [path for path, _ in source_files(package_source) if path.suffix == ".py"]
    return [path for path in shipped if path.resolve() in loaded] or shipped


def link_runtime_sdk(directory: Path) -> None:
    """Symlink this machine's AWS SDK packages into ``directory``: Lambda's sys.path extra."""
    for name in RUNTIME_PROVIDED:
        spec = importlib.util.find_spec(name)
        if spec is None:
            continue
        if spec.submodule_search_locations:
            (directory / name).symlink_to(next(iter(spec.submodule_search_locations)))
        elif spec.origin:
            (directory / Path(spec.origin).name).symlink_to(spec.origin)


def _clean_environment(app: str) -> dict[str, str]:
    """No TASKWORKER_/AWS_ settings of the caller leak in; the app's name is set as deployed."""
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "LANG", "LC_ALL", "TMPDIR", "HOME"}}
    return {**keep, "TASKWORKER_APP": app, "AWS_DEFAULT_REGION": "us-east-1"}


def _top_level_names(asset: Path) -> set[str]:
    names = set()
    for entry in asset.iterdir():
        if entry.is_dir() and not entry.name.endswith((".dist-info", ".data")) and entry.name != "bin":
            names.add(entry.name)
        elif entry.suffix in {".py", ".so", ".pyd"}:
            names.add(entry.name.split(".")[0])
    return names


def _imported_top_level_names(path: Path) -> Iterator[str]:
    """Absolute imports that run unconditionally: not under ``if TYPE_CHECKING`` and not
    guarded by ``except ImportError``."""
    tree = ast.parse(path.read_bytes(), filename=str(path))
    for node in _unguarded_nodes(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def _unguarded_nodes(node: ast.AST) -> Iterator[ast.AST]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            yield from (n for stmt in child.orelse for n in (stmt, *_unguarded_nodes(stmt)))
            continue
        if isinstance(child, ast.Try) and _catches_import_error(child):
            for stmt in (*child.orelse, *child.finalbody):
                yield stmt
                yield from _unguarded_nodes(stmt)
            continue
        yield child
        yield from _unguarded_nodes(child)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _catches_import_error(node: ast.Try) -> bool:
    names = set()
    for handler in node.handlers:
        if handler.type is None:
            return True
        for expr in handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]:
            if isinstance(expr, ast.Name):
                names.add(expr.id)
    return bool(names & {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})


def _last_lines(text: str, count: int = 12) -> str:
    return "\n".join(text.strip().splitlines()[-count:])

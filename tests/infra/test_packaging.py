"""The Lambda asset built from a user's project: its code, its dependencies, the installed
library, bytecode for the runtime, no AWS SDK, and an import check that fails synth."""

from __future__ import annotations

import dataclasses
import importlib
import marshal
import platform
import sys
from pathlib import Path

import pytest

pytest.importorskip("aws_cdk")

from aws_cdk import aws_lambda as lambda_
from taskworker_infra.asset_check import AssetImportError, check_imports_statically
from taskworker_infra.packaging import LambdaPackage
from taskworker_infra.project import find_project
from taskworker_infra.runtime import host_python_version

from tests.infra.user_project import make_project

# the synthesizing Python's runtime, so the asset runs here (the import check, the bytecode)
HOST_RUNTIME = next(r for r in lambda_.Runtime.ALL if r.name == f"python{host_python_version()}")

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or platform.machine() != "x86_64", reason="builds an asset the host can run"
)


def _package(code_root: Path, package: str) -> LambdaPackage:
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(code_root))
        project = find_project(package)
    return LambdaPackage(
        app=f"{package}.tasks:app",
        project=project,
        runtime=HOST_RUNTIME,
        architecture=lambda_.Architecture.X86_64,
    )


@pytest.fixture(scope="module")
def asset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shop")
    code_root = make_project(root, "shop_asset", dependencies=["taskworker-aws", "iniconfig>=2"])
    out = tmp_path_factory.mktemp("asset")
    _package(code_root, "shop_asset").build(out)
    return out


def test_asset_holds_the_users_code_their_dependency_and_the_library(asset: Path) -> None:
    assert (asset / "shop_asset" / "tasks.py").is_file()
    assert (asset / "iniconfig").is_dir()  # the user's own dependency
    for needed in ("taskworker", "pydantic", "pydantic_core", "aws_lambda_powertools", "tenacity"):
        assert (asset / needed).is_dir(), needed
    assert (asset / "taskworker" / "handlers" / "lambda_sqs.py").is_file()
    assert (asset / "taskworker_aws-0.1.0.dist-info" / "METADATA").is_file()
    assert not (asset / "taskworker_infra").exists()  # the construct is for synth time only


def test_asset_leaves_the_aws_sdk_to_the_runtime(asset: Path) -> None:
    names = {p.name.split("-")[0].lower() for p in asset.iterdir()}
    assert not names & {"boto3", "botocore", "s3transfer", "urllib3", "dateutil", "python_dateutil", "six"}
    assert "jmespath" in names  # powertools needs it too, so it stays


def test_asset_ships_hash_checked_bytecode_with_lambda_paths(asset: Path) -> None:
    tag = sys.implementation.cache_tag
    pyc = asset / "shop_asset" / "__pycache__" / f"tasks.{tag}.pyc"
    data = pyc.read_bytes()
    assert int.from_bytes(data[4:8], "little") == 0b01  # hash-based, not checked against the source
    assert marshal.loads(data[16:]).co_filename == "/var/task/shop_asset/tasks.py"
    assert (asset / "pydantic" / "__pycache__" / f"main.{tag}.pyc").is_file()


def test_undeclared_dependency_fails_the_build_with_the_module_named(tmp_path: Path) -> None:
    code_root = make_project(tmp_path / "shop", "shop_undeclared", dependencies=[])
    with pytest.raises(
        AssetImportError, match=r"(?s)cannot import the app 'shop_undeclared.tasks:app'.*iniconfig"
    ):
        _package(code_root, "shop_undeclared").build(tmp_path / "asset")


def test_static_check_names_each_missing_module_and_skips_guarded_imports(tmp_path: Path) -> None:
    package = tmp_path / "src" / "shop_static"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("from . import jobs\nimport shop_static.jobs\n")
    (package / "jobs.py").write_text(
        "import os, json\nimport boto3\nfrom iniconfig import IniConfig\nfrom typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import mypy_boto3_sqs\n"
        "try:\n    import orjson\nexcept ImportError:\n    orjson = None\n"
        "def later():\n    import requests\n"
    )
    asset = tmp_path / "asset"
    (asset / "iniconfig").mkdir(parents=True)
    (asset / "requests").mkdir()
    check_imports_statically(asset, package, "shop_static")  # everything unguarded is there
    (asset / "iniconfig").rmdir()
    (asset / "requests").rmdir()
    missing = r"lacks modules .*iniconfig \(imported by shop_static/jobs.py\), requests \(imported by "
    with pytest.raises(AssetImportError, match=missing):
        check_imports_statically(asset, package, "shop_static")


def test_a_pinned_sdk_is_bundled_only_when_asked_for(tmp_path: Path) -> None:
    code_root = make_project(tmp_path / "shop", "shop_pinned", dependencies=["iniconfig"])
    package = _package(code_root, "shop_pinned")
    assert package.requirements == ("iniconfig",)
    pinned = dataclasses.replace(package, bundle_boto3="boto3==1.40.0")
    assert pinned.requirements == ("iniconfig", "boto3==1.40.0")
    assert pinned.fingerprint() != package.fingerprint()  # a new SDK pin is a new asset


def test_static_check_reads_only_the_modules_the_app_loaded(tmp_path: Path, monkeypatch) -> None:
    package = tmp_path / "shop_with_stack"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "tasks.py").write_text("import json\n")
    (package / "stack.py").write_text("import aws_cdk\n")  # the user's CDK app: never shipped code
    asset = tmp_path / "asset"
    asset.mkdir()
    with pytest.raises(AssetImportError, match=r"aws_cdk \(imported by shop_with_stack/stack.py\)"):
        check_imports_statically(asset, package, "shop_with_stack")  # not imported: every module
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        importlib.import_module("shop_with_stack.tasks")  # what synth does to read the registry
        check_imports_statically(asset, package, "shop_with_stack")
    finally:
        sys.modules.pop("shop_with_stack.tasks", None)
        sys.modules.pop("shop_with_stack", None)

"""``npx cdk synth`` with the CLI pinned in infra/package.json: the path a deployer takes.

Runs offline (no AWS account or credentials): the example app synthesizes, passes cdk-nag,
and the Lambda asset is bundled on the host (pip, no Docker) with Lambda-platform wheels.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("aws_cdk")

from taskworker_infra.runtime import default_python_runtime, interpreter_for, python_version

INFRA = Path(__file__).resolve().parents[2] / "infra"
CLI = INFRA / "node_modules" / ".bin" / "cdk"


@pytest.fixture(scope="module")
def cli_synth(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    if not CLI.exists():
        if os.environ.get("CI"):
            pytest.fail("the CDK CLI is missing: run `npm ci --prefix infra` before the tests")
        pytest.skip("the CDK CLI is not installed (npm ci --prefix infra)")
    outdir = tmp_path_factory.mktemp("cli.out")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    started = time.monotonic()
    result = subprocess.run(
        ["npx", "--no-install", "cdk", "synth", "--quiet", "--output", str(outdir)],
        cwd=INFRA, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return outdir, elapsed


def test_cli_synth_succeeds_and_passes_nag(cli_synth: tuple[Path, float]) -> None:
    outdir, elapsed = cli_synth
    template = json.loads((outdir / "Taskworker.template.json").read_text())
    methods = [r for r in template["Resources"].values() if r["Type"] == "AWS::ApiGateway::Method"]
    assert len(methods) == 6  # report.generate, .notify, .fail, unknown types, GET status, DELETE cancel
    report = json.loads((outdir / "validation-report.json").read_text())
    assert [p["conclusion"] for p in report["pluginReports"]] == ["success"]
    print(f"cdk synth took {elapsed:.1f} s")


def test_lambda_asset_holds_handler_app_platform_wheels_and_bytecode(cli_synth: tuple[Path, float]) -> None:
    outdir, _ = cli_synth
    manifest = json.loads((outdir / "Taskworker.assets.json").read_text())
    (asset,) = [f for f in manifest["files"].values() if f["source"].get("packaging") == "zip"]
    root = outdir / asset["source"]["path"]
    assert (root / "taskworker" / "handlers" / "lambda_sqs.py").is_file()
    assert (root / "examples" / "reports.py").is_file()
    assert (root / "aws_lambda_powertools").is_dir()
    native = list((root / "pydantic_core").glob("_pydantic_core.*.so"))
    assert native
    version = python_version(default_python_runtime())
    tag = f"cpython-{version.replace('.', '')}"
    assert all("aarch64" in p.name and tag in p.name for p in native)
    compiled = (root / "taskworker" / "handlers" / "__pycache__" / f"lambda_sqs.{tag}.pyc").is_file()
    assert compiled == (interpreter_for(version) is not None)  # bytecode wherever it can be made
    assert not {"boto3", "botocore", "s3transfer"} & {p.name for p in root.iterdir()}  # the runtime's

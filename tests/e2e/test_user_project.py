"""A user's own project, from the library's built wheel to synthesized assets and a handler
run from the asset: the path the README's "Deploy your own app" describes.

The project (own package, own pyproject.toml, one pure-Python dependency of its own) lives in
a temporary directory; the library is this working tree built as a wheel and installed (not
editable) into a fresh virtualenv. That virtualenv sees the test environment's packages
after its own (a ``.pth`` line, so aws-cdk-lib's 480 MB are not installed again, and the
test environment's editable install is not activated), but its ``taskworker`` and
``taskworker_infra`` come from the wheel.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import site
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

pytest.importorskip("aws_cdk")

from taskworker_infra.asset_check import link_runtime_sdk

from taskworker.testing import sqs_event
from tests.infra.helpers import dockerfile_copy_sources, resources
from tests.infra.user_project import make_project

ROOT = Path(__file__).resolve().parents[2]
HOST_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"
SYNTH_TIMEOUT = 300
# What synthesizes the host-runnable variant: the README's construct, on this machine's platform.
HOST_APP = f"""
import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from taskworker_infra import AsyncTaskService, ConsumerOptions

app = cdk.App()
runtime = lambda_.Runtime.PYTHON_{HOST_VERSION.replace(".", "_")}
options = ConsumerOptions(architecture=lambda_.Architecture.X86_64, runtime=runtime)
AsyncTaskService(cdk.Stack(app, "Shop"), "Tasks", app="shop.tasks:app", consumer=options)
app.synth()
"""
RUN_HANDLER = """
import json, sys
sys.path[:0] = json.loads(sys.argv[1])
from taskworker.handlers.lambda_sqs import handler
from taskworker.testing import lambda_context

print(json.dumps(handler(json.load(sys.stdin), lambda_context(timeout_ms=300_000))))
"""
pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or platform.machine() != "x86_64", reason="runs an x86_64 Lambda asset"
)


def readme_app_code() -> str:
    """The README's app.py for a user's project, exactly as printed there."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    marker = text.index("<!-- tested: tests/e2e/test_user_project.py")
    match = re.compile(r"```python\n(.*?)```", re.S).search(text, marker)
    assert match, "the README's tested app.py block is missing"
    return match.group(1)


@pytest.fixture(scope="module")
def user_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the library installed from a wheel built from this tree."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "taskworker", src / "taskworker", ignore=ignore)
    shutil.copytree(ROOT / "infra" / "taskworker_infra", src / "infra" / "taskworker_infra", ignore=ignore)
    wheels = tmp_path_factory.mktemp("wheels")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheels), str(src)])
    (wheel,) = wheels.glob("taskworker_aws-*.whl")
    venv = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    (own_site,) = venv.glob("lib/python*/site-packages")
    (own_site / "test-environment.pth").write_text("".join(f"{p}\n" for p in site.getsitepackages()))
    _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", str(wheel)]
    )
    return python


@pytest.fixture(scope="module")
def synthesized(user_python: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The user's project synthesized three ways, in parallel: the README's app as is (Lambda,
    arm64), with ``-c worker=true``, and the same construct for this machine's platform."""
    project = tmp_path_factory.mktemp("shop")
    make_project(project, "shop", dependencies=["taskworker-aws", "iniconfig>=2"])
    (project / "app.py").write_text(readme_app_code())
    (project / "host_app.py").write_text(HOST_APP)
    (project / "cdk.json").write_text('{"app": "python app.py"}\n')
    runs = {"lambda": ("app.py", {}), "worker": ("app.py", {"worker": "true"}), "host": ("host_app.py", {})}
    outdirs = {name: tmp_path_factory.mktemp(f"{name}.out") for name in runs}
    started = {
        name: subprocess.Popen(
            [str(user_python), script],
            cwd=project,
            env=_synth_environment(outdirs[name], context),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name, (script, context) in runs.items()
    }
    for name, process in started.items():
        output, _ = process.communicate(timeout=SYNTH_TIMEOUT)
        assert process.returncode == 0, f"{name} synth failed:\n{output[-5000:]}"
    return outdirs


def test_the_library_in_the_user_venv_is_the_wheel_not_this_tree(user_python: Path) -> None:
    probe = (
        "import taskworker, taskworker_infra; print(taskworker.__file__); print(taskworker_infra.__file__)"
    )
    found = _run([str(user_python), "-c", probe], cwd=tempfile.gettempdir()).split()
    venv = user_python.parent.parent
    assert all(Path(path).is_relative_to(venv) for path in found), found


def test_lambda_asset_is_the_users_project(synthesized: dict[str, Path]) -> None:
    template, asset = _lambda(synthesized["lambda"])
    (function,) = [f for f in resources(template, "AWS::Lambda::Function").values() if "Handler" in f]
    assert function["Architectures"] == ["arm64"]
    assert 'TaskApp("shop")' in (asset / "shop" / "tasks.py").read_text()
    assert (asset / "iniconfig").is_dir()  # the user's own dependency
    assert (asset / "taskworker" / "app.py").read_bytes() == (ROOT / "taskworker" / "app.py").read_bytes()
    assert (asset / "taskworker_aws-0.1.0.dist-info").is_dir()
    assert not {"boto3", "botocore", "taskWorker.py", "taskworker_infra"} & {p.name for p in asset.iterdir()}
    tag = "cpython-" + function["Runtime"].removeprefix("python").replace(".", "")
    (native,) = (asset / "pydantic_core").glob("_pydantic_core.*.so")
    assert tag in native.name
    assert "aarch64" in native.name


def test_worker_context_is_the_users_project(synthesized: dict[str, Path]) -> None:
    outdir = synthesized["worker"]
    template = json.loads((outdir / "Shop.template.json").read_text())
    assert not resources(template, "AWS::Lambda::EventSourceMapping")
    (image,) = json.loads((outdir / "Shop.assets.json").read_text())["dockerImages"].values()
    context = outdir / image["source"]["directory"]
    assert (context / "requirements.txt").read_text() == "iniconfig>=2\n"
    assert (context / "app" / "shop" / "tasks.py").is_file()
    assert [p.name for p in (context / "wheels").iterdir()] == ["taskworker_aws-0.1.0-py3-none-any.whl"]
    for source in dockerfile_copy_sources((context / image["source"]["dockerFile"]).read_text()):
        assert (context / source).exists(), source


def test_host_asset_runs_a_users_task_with_boto3_from_outside(synthesized: dict[str, Path]) -> None:
    _, asset = _lambda(synthesized["host"])
    assert not (asset / "boto3").exists()
    event = sqs_event(payload={"order_id": "A-17"}, task_type="order.receipt")
    with tempfile.TemporaryDirectory(prefix="lambda-runtime-sdk-") as sdk:
        link_runtime_sdk(Path(sdk))
        output = _run(
            [sys.executable, "-I", "-S", "-B", "-c", RUN_HANDLER, json.dumps([str(asset), sdk])],
            stdin=json.dumps(event),
            env={
                "PATH": os.environ["PATH"],
                "TASKWORKER_APP": "shop.tasks:app",
                "AWS_DEFAULT_REGION": "us-east-1",
            },
            cwd=tempfile.gettempdir(),
        )
    lines = output.strip().splitlines()
    assert json.loads(lines[-1]) == {"batchItemFailures": []}
    assert {"receipt": "corner receipt for A-17"} in [json.loads(line) for line in lines if "receipt" in line]


def _lambda(outdir: Path) -> tuple[dict, Path]:
    template = json.loads((outdir / "Shop.template.json").read_text())
    manifest = json.loads((outdir / "Shop.assets.json").read_text())
    (asset,) = [f for f in manifest["files"].values() if f["source"].get("packaging") == "zip"]
    return template, outdir / asset["source"]["path"]


def _synth_environment(outdir: Path, context: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "TASKWORKER_", "AWS_", "CDK_"))}
    return {
        **env,
        "CDK_OUTDIR": str(outdir),
        "CDK_CONTEXT_JSON": json.dumps(context),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def _run(
    command: list[str], *, stdin: str | None = None, env: dict[str, str] | None = None, cwd: str | None = None
) -> str:
    result = subprocess.run(
        command,
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=SYNTH_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, f"{command[:4]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    return result.stdout

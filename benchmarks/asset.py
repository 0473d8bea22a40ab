"""The Lambda asset: its size, and the cold start of the deployed handler run from it.

Two assets of the example app (``examples.reports:app``, this repository as the project),
for this machine's platform and Python so both can run here, built by the construct's own
packager (``taskworker_infra.packaging``) from the same dependency set:

- before: the packaging as it was, the AWS SDK bundled and no bytecode;
- after: the default, the SDK left to the runtime and bytecode compiled with
  ``--invalidation-mode unchecked-hash``.

A cold start is a fresh isolated interpreter (``-I -S -B``: nothing from site-packages, and
no bytecode written, since ``/var/task`` is read-only) whose ``sys.path`` is the asset and
then the AWS SDK, as Lambda has it. The clock runs inside the child around importing the
handler and its first invocation: one ``report.notify`` record with every feature configured
(DLQ, result topic, status and idempotency tables, a fresh idempotency key each time)
against moto's server over HTTP. Figures are medians over alternating starts.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks import aws_calls, local_aws
from benchmarks.fresh import REPO_ROOT, TIMEOUT_SECONDS
from benchmarks.rows import Row, check, compared
from benchmarks.timing import Budget, Samples

NAME = "asset"
APP = "examples.reports:app"
MAX_MIB = 12
MAX_COLD_START_RATIO = 0.5
BEFORE = "SDK bundled, no bytecode"
_MIB = 1024 * 1024
_COLD_START = """
import json, sys, time
sys.path[:0] = json.loads(sys.argv[1])
event = json.loads(sys.stdin.read())

class Context:
    function_name = "bench"
    aws_request_id = "bench-request"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    memory_limit_in_mb = 1024
    def get_remaining_time_in_millis(self):
        return 300_000

started = time.perf_counter_ns()
from taskworker.handlers.lambda_sqs import handler
answer = handler(event, Context())
elapsed_ms = (time.perf_counter_ns() - started) / 1e6
assert answer == {"batchItemFailures": []}, answer
print(json.dumps({"ms": elapsed_ms}))
"""


def run(budget: Budget) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-asset-") as work:
        assets = {"before": Path(work, "before"), "after": Path(work, "after")}
        _build(assets["before"], bundle_sdk=True)
        _build(assets["after"], bundle_sdk=False)
        sizes = {name: _sizes_mib(path) for name, path in assets.items()}
        with local_aws.moto_in_subprocess() as endpoint, _runtime_sdk() as sdk:
            environment = _settings(aws_calls.provision(endpoint), endpoint)
            samples = _cold_starts(assets, sdk, environment, budget.processes)
    after, before = sizes["after"], sizes["before"]
    return [
        compared(NAME, "asset size, unpacked", after[0], "MiB", BEFORE, before[0]),
        compared(NAME, "asset size, zipped (the deployment package)", after[1], "MiB", BEFORE, before[1]),
        check(NAME, f"unpacked asset <= {MAX_MIB} MiB", after[0] <= MAX_MIB, f"<= {MAX_MIB} MiB"),
        check(NAME, f"zipped asset <= {MAX_MIB} MiB", after[1] <= MAX_MIB, f"<= {MAX_MIB} MiB"),
        compared(
            NAME,
            "cold start from the asset: import + first invocation, all features",
            samples.median("after"),
            "ms",
            BEFORE,
            samples.median("before"),
            MAX_COLD_START_RATIO,
            ratio=samples.ratio("after", "before"),
        ),
    ]


def _build(output: Path, *, bundle_sdk: bool) -> None:
    """The example app's asset for this machine, built by the construct's packager."""
    import boto3
    from aws_cdk import aws_lambda as lambda_
    from taskworker_infra.packaging import LambdaPackage
    from taskworker_infra.project import find_project
    from taskworker_infra.runtime import host_python_version

    version = host_python_version()
    package = LambdaPackage(
        app=APP,
        project=find_project("examples", root=REPO_ROOT),
        runtime=getattr(lambda_.Runtime, f"PYTHON_{version.replace('.', '_')}"),
        architecture=lambda_.Architecture.ARM_64
        if platform.machine() == "aarch64"
        else lambda_.Architecture.X86_64,
        bundle_boto3=f"boto3=={boto3.__version__}" if bundle_sdk else None,
    )
    output.mkdir(parents=True)
    package.build(output)
    if bundle_sdk:  # the packaging as it was compiled nothing
        for cache in sorted(output.rglob("__pycache__"), reverse=True):
            shutil.rmtree(cache)


def _sizes_mib(asset: Path) -> tuple[float, float]:
    """Bytes of every file, and of the asset zipped as CDK uploads it (deflate)."""
    files = sorted(p for p in asset.rglob("*") if p.is_file())
    unpacked = sum(p.stat().st_size for p in files)
    with tempfile.TemporaryFile() as handle:
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in files:
                archive.write(path, path.relative_to(asset).as_posix())
        zipped = handle.tell()
    return unpacked / _MIB, zipped / _MIB


@contextmanager
def _runtime_sdk() -> Iterator[Path]:
    from taskworker_infra.asset_check import link_runtime_sdk

    with tempfile.TemporaryDirectory(prefix="bench-sdk-") as sdk:
        link_runtime_sdk(Path(sdk))
        yield Path(sdk)


def _settings(resources: aws_calls.Resources, endpoint: str) -> dict[str, str]:
    """Every feature on, as the deployed stack configures the function."""
    dead_letters = resources.sqs.create_queue(QueueName=local_aws.unique("asset-dlq"))["QueueUrl"]
    return {
        "PATH": os.environ.get("PATH", ""),
        "TASKWORKER_APP": APP,
        "TASKWORKER_QUEUE_URL": resources.queue_url,
        "TASKWORKER_DLQ_URL": dead_letters,
        "TASKWORKER_RESULT_TOPIC_ARN": resources.topic_arn,
        "TASKWORKER_STATUS_TABLE": resources.status_table,
        "TASKWORKER_IDEMPOTENCY_TABLE": resources.idempotency_table,
        "TASKWORKER_MAX_RECEIVE_COUNT": "5",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": local_aws.REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def _cold_starts(assets: dict[str, Path], sdk: Path, environment: dict[str, str], processes: int) -> Samples:
    """One unmeasured start each (moto warms up), then ``processes`` alternating starts."""
    for asset in assets.values():
        _cold_start_ms(asset, sdk, environment)
    samples: dict[str, list[float]] = {name: [] for name in assets}
    for _ in range(processes):
        for name, asset in assets.items():
            samples[name].append(_cold_start_ms(asset, sdk, environment))
    return Samples(samples)


def _cold_start_ms(asset: Path, sdk: Path, environment: dict[str, str]) -> float:
    from taskworker.testing import sqs_event

    event = sqs_event(
        payload={"email": "ops@example.com", "subject": "cold start"},
        task_type="report.notify",
        idempotency_key=local_aws.unique("asset"),
    )
    completed = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", _COLD_START, json.dumps([str(asset), str(sdk)])],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        env=environment,
        cwd=tempfile.gettempdir(),
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"cold start from {asset.name} failed:\n{completed.stderr[-3000:]}")
    return float(json.loads(completed.stdout.strip().splitlines()[-1])["ms"])

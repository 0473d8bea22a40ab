"""Build the infra test stacks once per session: synthesis is the slow part (10+ s)."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
if str(INFRA) not in sys.path:
    sys.path.insert(0, str(INFRA))

for _name, _value in {
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "CDK_DISABLE_CLI_TELEMETRY": "true",
    "AWS_EC2_METADATA_DISABLED": "true",
}.items():
    os.environ.setdefault(_name, _value)

SAMPLE_APP = "tests.infra.sample_app:app"


@dataclass
class Synthesis:
    """The synthesized test app: templates by stack name, the services, and nag's verdict."""

    templates: dict[str, Any]
    services: dict[str, Any]
    error: Exception | None
    outdir: Path

    def template(self, name: str) -> Any:
        from aws_cdk.assertions import Template

        return Template.from_json(self.templates[name])


@pytest.fixture(scope="session")
def synthesis(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    """Three variants in one app, checked by cdk-nag (AwsSolutions) like the real app.

    Lambda bundling is switched off here (``aws:cdk:bundling-stacks``): it pip-installs the
    dependencies, and the CLI synth test covers it on the real example app.
    """
    import aws_cdk as cdk
    from aws_cdk import aws_iam as iam
    from taskworker_infra import (
        ApiKeyAccess,
        ApiOptions,
        AsyncTaskService,
        ConsumerOptions,
        WorkerOptions,
    )
    from taskworker_infra.context import cdk_context
    from taskworker_infra.nag import add_aws_solutions_checks

    outdir = tmp_path_factory.mktemp("cdk.out")
    app = cdk.App(context={**cdk_context(), "aws:cdk:bundling-stacks": []}, outdir=str(outdir))
    add_aws_solutions_checks(app)
    services: dict[str, Any] = {}

    default = cdk.Stack(app, "Default")
    services["Default"] = AsyncTaskService(default, "Tasks", app=SAMPLE_APP, project_root=ROOT)
    caller = iam.Role(default, "Caller", assumed_by=iam.AccountRootPrincipal())
    services["Default"].grant_invoke(caller)

    tuned = cdk.Stack(app, "Tuned")
    services["Tuned"] = AsyncTaskService(
        tuned,
        "Tasks",
        app=SAMPLE_APP,
        project_root=ROOT,
        access=ApiKeyAccess(rate_limit=5, burst_limit=10, quota_per_day=1000),
        api=ApiOptions(
            stage_name="prod",
            throttling_rate_limit=7,
            throttling_burst_limit=14,
            web_acl_arn="arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/acl/abc",
        ),
        consumer=ConsumerOptions(
            batch_size=5,
            max_batching_window=cdk.Duration.seconds(2),
            max_concurrency=3,
            memory_size=512,
        ),
        alarm_topic=True,
    )

    worker = cdk.Stack(app, "Worker")
    services["Worker"] = AsyncTaskService(
        worker, "Tasks", app=SAMPLE_APP, project_root=ROOT, worker=WorkerOptions(max_tasks=3)
    )

    error: Exception | None = None
    try:
        app.synth()
    except Exception as exc:  # cdk-nag findings; templates are written before validation
        error = exc
    templates = {name: json.loads((outdir / f"{name}.template.json").read_text()) for name in services}
    return Synthesis(templates=templates, services=services, error=error, outdir=outdir)

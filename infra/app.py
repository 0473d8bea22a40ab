#!/usr/bin/env python3
"""CDK app deploying the example TaskApp (``examples.reports:app``) with cdk-nag checks.

Run through the CLI (``npx cdk synth`` / ``npx cdk deploy`` from ``infra/``). The TaskApp can
be changed with ``-c app=package.module:attribute`` (with ``-c project_root=DIR`` when that
project is not this repository); ``-c worker=true`` deploys the Fargate worker instead of the
Lambda consumer. Deploying your own project from your own CDK app: see the README, "Deploy
your own app".
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import aws_cdk as cdk
from taskworker_infra.context import cdk_context
from taskworker_infra.nag import add_aws_solutions_checks
from taskworker_infra.stack import TaskworkerStack


def main() -> None:
    app = cdk.App(context=cdk_context())
    add_aws_solutions_checks(app)
    TaskworkerStack(
        app,
        app.node.try_get_context("stack_name") or "Taskworker",
        app=app.node.try_get_context("app") or "examples.reports:app",
        service_options={
            "worker": str(app.node.try_get_context("worker")).lower() == "true",
            "project_root": app.node.try_get_context("project_root") or Path(__file__).resolve().parents[1],
        },
        env=cdk.Environment(
            account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION")
        ),
        description="taskworker: API Gateway -> SQS -> consumer -> SNS/DynamoDB",
    )
    app.synth()


if __name__ == "__main__":
    main()

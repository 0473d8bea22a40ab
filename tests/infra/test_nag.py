"""cdk-nag AwsSolutions: no unacknowledged finding, every acknowledgment specific and explained."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("aws_cdk")

from taskworker_infra.runtime import default_python_runtime, latest_python_runtime

EXPECTED_ACKNOWLEDGED = {
    # publishing to the SNS topic encrypted with alias/aws/sns
    "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*]",
    "AwsSolutions-APIG3",  # no WAF ACL given (Default, Worker; Tuned has one)
    "AwsSolutions-COG4",  # IAM / API-key access instead of Cognito
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:"
    "<AWS::AccountId>:<TasksApiF554C969>/v1/GET/tasks/*]",  # grant_invoke's status route
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:"
    "<AWS::AccountId>:<TasksApiF554C969>/v1/DELETE/tasks/*]",  # and its cancel route
    "AwsSolutions-APIG4",  # Tuned chose API keys
    "AwsSolutions-ECS2",  # worker environment holds resource names
    "AwsSolutions-IAM5[Resource::*]",  # ecr:GetAuthorizationToken on the execution role
    # one-time schedules (tasks > 15 minutes ahead) in each service's own schedule group
    *(
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:"
        f"schedule/{group}/*]"
        for group in (
            "Tasks-Schedules-7430AA21",
            "Tuned-Tasks-Schedules-C713BD35",
            "Worker-Tasks-Schedules-081B1B52",
        )
    ),
}
if default_python_runtime().name != latest_python_runtime().name:
    EXPECTED_ACKNOWLEDGED.add("AwsSolutions-L1")  # the synthesizing Python's runtime (bytecode)


def _report(synthesis) -> dict:
    return json.loads((synthesis.outdir / "validation-report.json").read_text())


def test_all_variants_pass_aws_solutions_checks(synthesis) -> None:
    report = synthesis.outdir / "validation-report.json"
    details = report.read_text() if report.exists() else ""
    assert synthesis.error is None, details[:5000]
    (plugin,) = _report(synthesis)["pluginReports"]
    assert plugin["pluginName"] == "AwsSolutions"
    assert plugin["conclusion"] == "success"
    assert plugin["violations"] == []


def test_acknowledgments_are_the_expected_ones_with_reasons(synthesis) -> None:
    (plugin,) = _report(synthesis)["pluginReports"]
    suppressed = plugin["suppressedViolations"]
    assert {s["ruleName"] for s in suppressed} == EXPECTED_ACKNOWLEDGED
    for entry in suppressed:
        assert len(entry["reason"]) >= 60, entry["ruleName"]


def test_wildcard_acknowledgments_sit_on_the_role_that_needs_them(synthesis) -> None:
    (plugin,) = _report(synthesis)["pluginReports"]
    where = {(s["ruleName"], s["acknowledgedAt"]) for s in plugin["suppressedViolations"]}
    assert ("AwsSolutions-IAM5[Resource::*]", "Worker/Tasks/Worker/Task/ExecutionRole") in where
    assert all(
        at.endswith(("/Role", "/TaskRole", "/ExecutionRole", "Default/Caller"))
        for rule, at in where
        if rule.startswith("AwsSolutions-IAM5")
    )

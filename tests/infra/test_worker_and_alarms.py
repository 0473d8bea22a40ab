"""The Fargate worker variant, and the alarms of every variant."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("aws_cdk")

from tests.infra.conftest import SAMPLE_APP
from tests.infra.helpers import arn, logical_id, only, resources, statements


def test_worker_replaces_the_lambda_consumer(synthesis) -> None:
    tpl = synthesis.templates["Worker"]
    assert not resources(tpl, "AWS::Lambda::EventSourceMapping")
    handlers = [f.get("Handler") for f in resources(tpl, "AWS::Lambda::Function").values()]
    assert "taskworker.handlers.lambda_sqs.handler" not in handlers


def test_worker_runs_the_cli_with_the_settings(synthesis) -> None:
    tpl = synthesis.templates["Worker"]
    _, task = only(tpl, "AWS::ECS::TaskDefinition")
    (container,) = task["ContainerDefinitions"]
    assert container["Command"] == ["worker", SAMPLE_APP]
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert env["TASKWORKER_APP"] == SAMPLE_APP
    assert env["TASKWORKER_QUEUE_URL"] == {"Ref": logical_id(tpl, "AWS::SQS::Queue", "QueuesQueue")}
    assert set(env) >= {"TASKWORKER_DLQ_URL", "TASKWORKER_RESULT_TOPIC_ARN",
                        "TASKWORKER_STATUS_TABLE", "TASKWORKER_IDEMPOTENCY_TABLE"}  # fmt: skip
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    assert container["StopTimeout"] == 120
    assert task["RuntimePlatform"] == {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"}
    assert task["RequiresCompatibilities"] == ["FARGATE"]


def test_worker_image_is_a_docker_asset_of_the_project(synthesis) -> None:
    assets = json.loads((synthesis.outdir / "Worker.assets.json").read_text())
    (image,) = assets["dockerImages"].values()
    assert image["source"]["dockerFile"] == "Dockerfile"
    assert set(image["source"]["dockerBuildArgs"]) == {"PYTHON_VERSION"}
    staged = synthesis.outdir / image["source"]["directory"]
    assert {p.name for p in staged.iterdir()} == {"Dockerfile", "requirements.txt", "wheels", "app"}
    assert [p.name for p in (staged / "app").iterdir()] == ["tests"]  # the app's package only
    assert [p.name for p in (staged / "wheels").iterdir()] == ["taskworker_aws-0.1.0-py3-none-any.whl"]


def test_worker_scales_from_zero_on_backlog_including_in_flight(synthesis) -> None:
    tpl = synthesis.templates["Worker"]
    _, service = only(tpl, "AWS::ECS::Service")
    assert service["DesiredCount"] == 0
    assert service["LaunchType"] == "FARGATE"
    _, target = only(tpl, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (0, 3)
    policies = resources(tpl, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    adjustments = sorted(
        (a.get("MetricIntervalLowerBound", -1), a["ScalingAdjustment"])
        for p in policies
        for a in p["StepScalingPolicyConfiguration"]["StepAdjustments"]
    )
    assert {change for _, change in adjustments} == {0, 1, 2, 3}
    assert all(p["StepScalingPolicyConfiguration"]["AdjustmentType"] == "ExactCapacity"
               for p in policies)  # fmt: skip
    alarms = [a for a in resources(tpl, "AWS::CloudWatch::Alarm").values() if "Metrics" in a]
    expressions = {m.get("Expression") for a in alarms for m in a["Metrics"]}
    assert "visible + inflight" in expressions


def test_worker_task_role_is_exact(synthesis) -> None:
    tpl = synthesis.templates["Worker"]
    role_id = logical_id(tpl, "AWS::IAM::Role", "TaskRole")
    (policy,) = [p for p in resources(tpl, "AWS::IAM::Policy").values()
                 if p["Roles"] == [{"Ref": role_id}]]  # fmt: skip
    got = statements(policy["PolicyDocument"])
    queue = arn(logical_id(tpl, "AWS::SQS::Queue", "QueuesQueue"))
    assert {"Action": ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage",
                       "sqs:GetQueueAttributes", "sqs:ReceiveMessage", "sqs:SendMessage"],
            "Effect": "Allow", "Resource": queue} in got  # fmt: skip
    assert {"Action": ["sqs:SendMessage"], "Effect": "Allow",
            "Resource": arn(logical_id(tpl, "AWS::SQS::Queue", "DeadLetter"))} in got  # fmt: skip
    actions = sorted(a for s in got for a in s["Action"])
    assert actions == sorted([
        "sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage",
        "sqs:SendMessage",  # to every queue of the app: follow-ups (ctx.submit), forwarding
        "sqs:SendMessage",  # to its DLQ
        "sns:Publish", "kms:Decrypt",
        "kms:GenerateDataKey*", "dynamodb:BatchWriteItem", "dynamodb:PutItem",
        "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
        "scheduler:CreateSchedule", "scheduler:DeleteSchedule", "iam:PassRole",  # one-time schedules
    ])  # fmt: skip


def test_worker_visibility_is_six_times_slowest_task_plus_margin(synthesis) -> None:
    tpl = synthesis.templates["Worker"]
    queue = resources(tpl, "AWS::SQS::Queue")[logical_id(tpl, "AWS::SQS::Queue", "QueuesQueue")]
    assert queue["VisibilityTimeout"] == 6 * (120 + 30)


def test_worker_network_has_no_inbound_and_flow_logs(synthesis) -> None:
    tpl = synthesis.templates["Worker"]
    assert not resources(tpl, "AWS::EC2::NatGateway")
    only(tpl, "AWS::EC2::FlowLog")
    for group in resources(tpl, "AWS::EC2::SecurityGroup").values():
        assert "SecurityGroupIngress" not in group
    _, cluster = only(tpl, "AWS::ECS::Cluster")
    assert {"Name": "containerInsights", "Value": "enabled"} in cluster["ClusterSettings"]


def _alarms_by_metric(tpl: dict) -> dict[str, dict]:
    return {a["MetricName"]: a for a in resources(tpl, "AWS::CloudWatch::Alarm").values()
            if "MetricName" in a}  # fmt: skip


def test_alarms_watch_dlq_age_and_errors(synthesis) -> None:
    tpl = synthesis.templates["Default"]
    alarms = _alarms_by_metric(tpl)
    assert set(alarms) == {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage",
                           "Errors"}  # fmt: skip
    dlq = alarms["ApproximateNumberOfMessagesVisible"]
    assert dlq["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [
        logical_id(tpl, "AWS::SQS::Queue", "DeadLetter"), "QueueName"]}}]  # fmt: skip
    assert (dlq["Threshold"], dlq["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    age = alarms["ApproximateAgeOfOldestMessage"]
    assert age["Threshold"] == 900
    assert age["Statistic"] == "Maximum"
    errors = alarms["Errors"]
    assert errors["Namespace"] == "AWS/Lambda"
    assert errors["Threshold"] == 1
    assert all("AlarmActions" not in a for a in alarms.values())


def test_alarm_topic_receives_alarm_and_ok_notifications(synthesis) -> None:
    tpl = synthesis.templates["Tuned"]
    topics = resources(tpl, "AWS::SNS::Topic")
    alarm_topic = logical_id(tpl, "AWS::SNS::Topic", "AlarmTopic")
    assert "Fn::GetAtt" in topics[alarm_topic]["KmsMasterKeyId"]  # customer key
    _, key = only(tpl, "AWS::KMS::Key")
    assert key["EnableKeyRotation"] is True
    assert "cloudwatch.amazonaws.com" in json.dumps(key["KeyPolicy"])
    for alarm in _alarms_by_metric(tpl).values():
        assert alarm["AlarmActions"] == [{"Ref": alarm_topic}]
        assert alarm["OKActions"] == [{"Ref": alarm_topic}]


def test_worker_variant_has_no_lambda_error_alarm(synthesis) -> None:
    assert "Errors" not in _alarms_by_metric(synthesis.templates["Worker"])

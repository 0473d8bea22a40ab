"""The Lambda consumer: runtime, handler, settings, event source, timeouts and exact grants."""

from __future__ import annotations

import pytest

pytest.importorskip("aws_cdk")

from taskworker_infra.consumer import DEFAULT_MAX_CONCURRENCY
from taskworker_infra.runtime import default_python_runtime

from tests.infra.conftest import SAMPLE_APP
from tests.infra.helpers import arn, logical_id, only, resources, statements


def _function(tpl: dict) -> dict:
    return resources(tpl, "AWS::Lambda::Function")[logical_id(tpl, "AWS::Lambda::Function", "Consumer")]


def test_function_runs_the_taskworker_handler_on_the_default_runtime(synthesis) -> None:
    fn = _function(synthesis.templates["Default"])
    assert fn["Handler"] == "taskworker.handlers.lambda_sqs.handler"
    assert fn["Runtime"] == default_python_runtime().name  # see test_runtime for the rule
    assert fn["Architectures"] == ["arm64"]
    assert fn["MemorySize"] == 1024


def test_function_timeout_is_slowest_task_plus_margin(synthesis) -> None:
    # report.generate has timeout=120; the default margin is 30 s
    assert _function(synthesis.templates["Default"])["Timeout"] == 150


def test_visibility_timeout_is_six_times_function_timeout(synthesis) -> None:
    for name in ("Default", "Tuned"):
        tpl = synthesis.templates[name]
        queue = resources(tpl, "AWS::SQS::Queue")[logical_id(tpl, "AWS::SQS::Queue", "QueuesQueue")]
        assert queue["VisibilityTimeout"] == 6 * _function(tpl)["Timeout"], name


def test_batch_of_five_gets_room_for_five_tasks(synthesis) -> None:
    assert _function(synthesis.templates["Tuned"])["Timeout"] == 750


def test_environment_carries_every_setting(synthesis) -> None:
    tpl = synthesis.templates["Default"]
    env = _function(tpl)["Environment"]["Variables"]
    q = logical_id(tpl, "AWS::SQS::Queue", "QueuesQueue")
    dlq = logical_id(tpl, "AWS::SQS::Queue", "DeadLetter")
    assert env == {
        "TASKWORKER_APP": SAMPLE_APP,
        "TASKWORKER_QUEUE": "default",
        "TASKWORKER_QUEUE_URL": {"Ref": q},
        "TASKWORKER_QUEUE_URLS": {"Fn::Join": ["", ['{"default":"', {"Ref": q}, '"}']]},
        "TASKWORKER_DLQ_URL": {"Ref": dlq},
        "TASKWORKER_RESULT_TOPIC_ARN": {"Ref": only(tpl, "AWS::SNS::Topic")[0]},
        "TASKWORKER_STATUS_TABLE": {"Ref": logical_id(tpl, "AWS::DynamoDB::Table", "Status")},
        "TASKWORKER_IDEMPOTENCY_TABLE": {"Ref": logical_id(tpl, "AWS::DynamoDB::Table", "Idempotency")},
        "TASKWORKER_METRICS_NAMESPACE": "taskworker",
        "TASKWORKER_MAX_RECEIVE_COUNT": "5",
        "TASKWORKER_SCHEDULER_ROLE_ARN": arn(logical_id(tpl, "AWS::IAM::Role", "SchedulesRole")),
        "TASKWORKER_SCHEDULE_GROUP": only(tpl, "AWS::Scheduler::ScheduleGroup")[1]["Name"],
    }


def test_logs_go_to_own_group_with_retention(synthesis) -> None:
    tpl = synthesis.templates["Default"]
    group = logical_id(tpl, "AWS::Logs::LogGroup", "ConsumerLogs")
    assert _function(tpl)["LoggingConfig"] == {"LogGroup": {"Ref": group}}
    assert resources(tpl, "AWS::Logs::LogGroup")[group]["RetentionInDays"] == 30


def test_event_source_defaults_to_batches_of_one_with_partial_failures(synthesis) -> None:
    tpl = synthesis.templates["Default"]
    _, esm = only(tpl, "AWS::Lambda::EventSourceMapping")
    assert esm["BatchSize"] == 1
    assert esm["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert esm["EventSourceArn"] == arn(logical_id(tpl, "AWS::SQS::Queue", "QueuesQueue"))
    assert esm["ScalingConfig"] == {"MaximumConcurrency": DEFAULT_MAX_CONCURRENCY}
    assert "MaximumBatchingWindowInSeconds" not in esm


def test_event_source_tuning_is_applied(synthesis) -> None:
    _, esm = only(synthesis.templates["Tuned"], "AWS::Lambda::EventSourceMapping")
    assert esm["BatchSize"] == 5
    assert esm["MaximumBatchingWindowInSeconds"] == 2
    assert esm["ScalingConfig"] == {"MaximumConcurrency": 3}
    assert _function(synthesis.templates["Tuned"])["MemorySize"] == 512


def test_consumer_role_has_no_managed_policy_and_exact_statements(synthesis) -> None:
    tpl = synthesis.templates["Default"]
    role_id = logical_id(tpl, "AWS::IAM::Role", "ConsumerRole")
    role = resources(tpl, "AWS::IAM::Role")[role_id]
    assert "ManagedPolicyArns" not in role
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow",
         "Principal": {"Service": "lambda.amazonaws.com"}}
    ]  # fmt: skip
    (policy,) = [p for p in resources(tpl, "AWS::IAM::Policy").values()
                 if p["Roles"] == [{"Ref": role_id}]]  # fmt: skip
    queue = logical_id(tpl, "AWS::SQS::Queue", "QueuesQueue")
    assert statements(policy["PolicyDocument"]) == [
        {"Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Effect": "Allow",
         "Resource": arn(logical_id(tpl, "AWS::Logs::LogGroup", "ConsumerLogs"))},
        # the event source mapping's grant; ChangeMessageVisibility (retry delays) and
        # SendMessage (follow-up tasks, to every queue of the app) are also granted by
        # grant_consumer and merged here by @aws-cdk/aws-iam:minimizePolicies
        {"Action": ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                    "sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:SendMessage"], "Effect": "Allow",
         "Resource": arn(queue)},
        {"Action": ["sqs:SendMessage"], "Effect": "Allow",
         "Resource": arn(logical_id(tpl, "AWS::SQS::Queue", "DeadLetter"))},
        {"Action": ["sns:Publish"], "Effect": "Allow",
         "Resource": {"Ref": only(tpl, "AWS::SNS::Topic")[0]}},
        {"Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Effect": "Allow",
         "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/aws/sns"}},
         "Resource": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":kms:",
                                        {"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"},
                                        ":key/*"]]}},
        {"Action": ["dynamodb:BatchWriteItem", "dynamodb:PutItem"],
         "Effect": "Allow", "Resource": arn(logical_id(tpl, "AWS::DynamoDB::Table", "Status"))},
        {"Action": ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem",
                    "dynamodb:UpdateItem"], "Effect": "Allow",
         "Resource": arn(logical_id(tpl, "AWS::DynamoDB::Table", "Idempotency"))},
        # one-time schedules (tasks more than 15 minutes ahead): in the app's group only
        {"Action": ["scheduler:CreateSchedule", "scheduler:DeleteSchedule"], "Effect": "Allow",
         "Resource": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":scheduler:",
                                        {"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"},
                                        ":schedule/" + only(tpl, "AWS::Scheduler::ScheduleGroup")[1]["Name"]
                                        + "/*"]]}},
        {"Action": ["iam:PassRole"], "Effect": "Allow",
         "Resource": arn(logical_id(tpl, "AWS::IAM::Role", "SchedulesRole"))},
    ]  # fmt: skip


def test_task_longer_than_lambda_is_refused_with_a_hint() -> None:
    import aws_cdk as cdk
    from taskworker_infra import AsyncTaskService

    stack = cdk.Stack(cdk.App(), "Long")
    with pytest.raises(ValueError, match="worker=True"):
        AsyncTaskService(stack, "Tasks", app="tests.infra.sample_app:long_app")

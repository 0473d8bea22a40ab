"""The Lambda consumer: an SQS event source feeding ``taskworker.handlers.lambda_sqs``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

__all__ = ["DEFAULT_MAX_CONCURRENCY", "HANDLER", "ConsumerOptions", "LambdaConsumer"]

HANDLER = "taskworker.handlers.lambda_sqs.handler"
DEFAULT_MAX_CONCURRENCY = 10


@dataclass(frozen=True)
class ConsumerOptions:
    """Tuning of the Lambda consumer.

    ``function_timeout`` defaults to what the slowest task needs (see ``timeouts``);
    ``timeout_margin`` is added to the slowest task's timeout for startup, sinks and retries;
    tasks registered without a timeout count as ``default_task_timeout``.
    ``max_concurrency`` caps the concurrent invocations the SQS event source starts (AWS
    allows 2-1000); without a cap the poller scales the consumer up to the account's
    concurrency limit, starving every other function of the account. ``None`` removes it.
    ``runtime`` defaults to the newest Python runtime Lambda accepts that a CPython found
    here can compile bytecode for (see ``runtime``);
    ``bundle_boto3`` (a requirement such as ``"boto3==1.40.0"``) ships that AWS SDK in the
    asset instead of using the one the Lambda runtime provides.
    """

    memory_size: int = 1024
    function_timeout: Duration | None = None
    timeout_margin: Duration = field(default_factory=lambda: Duration.seconds(30))
    default_task_timeout: Duration = field(default_factory=lambda: Duration.seconds(60))
    batch_size: int = 1
    max_batching_window: Duration | None = None
    max_concurrency: int | None = DEFAULT_MAX_CONCURRENCY
    architecture: lambda_.Architecture = lambda_.Architecture.ARM_64
    runtime: lambda_.Runtime | None = None
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH
    bundle_boto3: str | None = None


class LambdaConsumer(Construct):
    """The function, its own role and log group, and the SQS event source mapping.

    The role is built here (not CDK's default) so it carries no AWS-managed policy: the
    function may write to its own log group and nothing else until grants are added.
    Partial batch responses are on, so one failed message never re-runs its batch mates.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: lambda_.Code,
        runtime: lambda_.Runtime,
        timeout: Duration,
        environment: Mapping[str, str],
        queue: sqs.IQueue,
        options: ConsumerOptions,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self, "Logs", retention=options.log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="taskworker Lambda consumer",
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=runtime,
            architecture=options.architecture,
            handler=HANDLER,
            code=code,
            role=self.role,
            timeout=timeout,
            memory_size=options.memory_size,
            environment=dict(environment),
            log_group=self.log_group,
            description="Runs taskworker handlers for messages of the task queue",
        )
        self.function.add_event_source(
            sources.SqsEventSource(
                queue,
                batch_size=options.batch_size,
                max_batching_window=options.max_batching_window,
                max_concurrency=options.max_concurrency,
                report_batch_item_failures=True,
            )
        )

"""The container worker: a Fargate service running ``taskworker worker <app>``.

For tasks longer than Lambda's 15 minutes. It scales on the queue's backlog *including*
messages in flight, from zero: scaling on visible messages alone would stop a worker in the
middle of a long task as soon as the queue looked empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_applicationautoscaling as autoscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .nag import acknowledge

__all__ = ["FargateWorker", "WorkerOptions", "backlog_steps"]


@dataclass(frozen=True)
class WorkerOptions:
    """Size and scale of the worker service.

    ``image`` defaults to an image of the user's project (``worker_image``: its code, its
    declared dependencies and the installed library; Docker is needed at ``cdk deploy``, not
    at synth); pass ``ecs.ContainerImage.from_registry``
    or ``from_ecr_repository`` to deploy a prebuilt image instead.
    """

    cpu: int = 1024
    memory_limit_mib: int = 2048
    max_tasks: int = 4
    messages_per_task: int = 10
    image: ecs.ContainerImage | None = None
    vpc: ec2.IVpc | None = None
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH
    stop_timeout: Duration = field(default_factory=lambda: Duration.seconds(120))


def backlog_steps(max_tasks: int, messages_per_task: int) -> list[autoscaling.ScalingInterval]:
    """Exact task counts by backlog: 0 tasks for 0 messages, then one task per
    ``messages_per_task`` messages, up to ``max_tasks``."""
    steps = [autoscaling.ScalingInterval(upper=0, change=0)]
    for tasks in range(1, max_tasks + 1):
        steps.append(autoscaling.ScalingInterval(lower=(tasks - 1) * messages_per_task + 1, change=tasks))
    return steps


class FargateWorker(Construct):
    """Cluster, task definition and service; the task role gets its grants from the caller.

    ``cluster`` is another worker's (``FargateWorker.cluster``): the workers of an app's
    queues share one cluster and network instead of a VPC each.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        command: list[str],
        image: ecs.ContainerImage,
        environment: Mapping[str, str],
        queue: sqs.IQueue,
        options: WorkerOptions,
        cluster: ecs.ICluster | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.cluster = cluster or ecs.Cluster(
            self,
            "Cluster",
            vpc=options.vpc or self._vpc(options.log_retention),
            container_insights_v2=ecs.ContainerInsights.ENABLED,
        )
        self.task_definition = ecs.FargateTaskDefinition(
            self,
            "Task",
            cpu=options.cpu,
            memory_limit_mib=options.memory_limit_mib,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.ARM64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        self.log_group = logs.LogGroup(
            self, "Logs", retention=options.log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        self.task_definition.add_container(
            "worker",
            image=image,
            command=command,
            environment=dict(environment),
            logging=ecs.LogDrivers.aws_logs(stream_prefix="worker", log_group=self.log_group),
            stop_timeout=options.stop_timeout,
        )
        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=self.cluster,
            task_definition=self.task_definition,
            desired_count=0,
            min_healthy_percent=0,
            max_healthy_percent=200,
            assign_public_ip=options.vpc is None,
            vpc_subnets=ec2.SubnetSelection(
                subnet_type=ec2.SubnetType.PUBLIC
                if options.vpc is None
                else ec2.SubnetType.PRIVATE_WITH_EGRESS
            ),
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
        )
        self._scale_on_backlog(queue, options)
        acknowledge(
            self.task_definition.obtain_execution_role(),
            "IAM5[Resource::*]",
            "ecr:GetAuthorizationToken cannot be scoped to a resource (AWS requires '*'); the "
            "image pull actions themselves are limited to the asset repository.",
        )
        acknowledge(
            self.task_definition,
            "ECS2",
            "The container environment holds resource names and ARNs (queue URLs, table "
            "names), not secrets; they are part of the template anyway.",
        )

    def _vpc(self, retention: logs.RetentionDays) -> ec2.Vpc:
        """A small VPC without NAT gateways: tasks get public IPs and no inbound rules, so
        reaching SQS, SNS and DynamoDB costs nothing per hour."""
        flow_logs = logs.LogGroup(self, "FlowLogs", retention=retention, removal_policy=RemovalPolicy.DESTROY)
        return ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC)],
            flow_logs={
                "All": ec2.FlowLogOptions(destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs))
            },
        )

    def _scale_on_backlog(self, queue: sqs.IQueue, options: WorkerOptions) -> None:
        backlog = cloudwatch.MathExpression(
            expression="visible + inflight",
            using_metrics={
                "visible": queue.metric_approximate_number_of_messages_visible(),
                "inflight": queue.metric_approximate_number_of_messages_not_visible(),
            },
            period=Duration.minutes(1),
            label="Queued and in-flight tasks",
        )
        scaling = self.service.auto_scale_task_count(min_capacity=0, max_capacity=options.max_tasks)
        scaling.scale_on_metric(
            "Backlog",
            metric=backlog,
            scaling_steps=backlog_steps(options.max_tasks, options.messages_per_task),
            adjustment_type=autoscaling.AdjustmentType.EXACT_CAPACITY,
            cooldown=Duration.minutes(1),
        )

"""``AsyncTaskService``: the whole pipeline for one TaskApp, derived from its registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stage
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from .access import ApiAccess, IamAccess
from .alarms import TaskAlarms
from .api import ApiOptions, TaskApi
from .consumer import ConsumerOptions, LambdaConsumer
from .grants import WORKER_QUEUE_ACTIONS, grant_consumer
from .nag import acknowledge, arn_prefix
from .packaging import LambdaPackage
from .project import Project, find_project
from .queues import MAX_RECEIVE_COUNT, TaskQueues
from .registry import TaskSpec, app_module, load_task_specs
from .runtime import default_python_runtime, latest_python_runtime
from .schedules import TaskSchedules
from .tables import TaskTables
from .timeouts import lambda_timeout, required_consumer_timeout, visibility_timeout
from .topics import alarm_topic as make_alarm_topic
from .topics import result_topic
from .worker import FargateWorker, WorkerOptions
from .worker_image import worker_image

__all__ = ["AsyncTaskService"]


class AsyncTaskService(Construct):
    """API Gateway -> SQS -> consumer -> SNS + DynamoDB for the TaskApp at ``app``.

    The app is imported at synth time: one API route and request model per registered task,
    and the consumer timeout from the slowest task. The consumer is a Lambda function, or,
    with ``worker=True`` (or ``WorkerOptions``), a Fargate service for tasks that outlast
    Lambda; the two never poll the same queue, so a long task cannot land on a Lambda.

    What is deployed is the user's project (``project``): the app's top-level package, the
    dependencies its ``pyproject.toml`` (or ``requirements.txt``) declares, found next to
    the app's code, and the library as installed here. ``project_root`` overrides the search
    and is put on ``sys.path`` while the app is imported.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        app: str,
        project_root: str | Path | None = None,
        access: ApiAccess | None = None,
        api: ApiOptions | None = None,
        consumer: ConsumerOptions | None = None,
        worker: bool | WorkerOptions = False,
        max_message_age: Duration | None = None,
        alarm_topic: sns.ITopic | bool = False,
        result_topic_key: kms.IKey | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        metrics_namespace: str = "taskworker",
    ) -> None:
        super().__init__(scope, construct_id)
        self.app_path = app
        root = Path(project_root).resolve() if project_root else None
        self.tasks: tuple[TaskSpec, ...] = load_task_specs(app, search_path=root)
        self.project: Project = find_project(app_module(app).split(".")[0], root=root)
        consumer = consumer or ConsumerOptions()
        worker_options = WorkerOptions() if worker is True else worker or None

        required = required_consumer_timeout(
            (t.timeout for t in self.tasks),
            default_task_timeout=consumer.default_task_timeout.to_seconds(),
            margin=consumer.timeout_margin.to_seconds(),
        )
        self.consumer_timeout = Duration.seconds(
            required
            if worker_options
            else lambda_timeout(
                required,
                batch_size=consumer.batch_size,
                requested=(
                    int(consumer.function_timeout.to_seconds()) if consumer.function_timeout else None
                ),
            )
        )
        queues = TaskQueues(
            self,
            "Queues",
            visibility_timeout=Duration.seconds(visibility_timeout(int(self.consumer_timeout.to_seconds()))),
        )
        self.queue = queues.queue
        self.dead_letter_queue = queues.dead_letter_queue
        self.schedules = TaskSchedules(self, "Schedules", schedules=_schedules_of(app), queue=self.queue)
        self.result_topic = result_topic(self, "ResultTopic", key=result_topic_key)
        tables = TaskTables(self, "Tables", removal_policy=removal_policy)
        self.status_table = tables.status
        self.idempotency_table = tables.idempotency

        self.function: lambda_.IFunction | None = None
        self.worker: FargateWorker | None = None
        if worker_options:
            self.worker = self._add_worker(worker_options, metrics_namespace)
            consumer_principal: iam.IGrantable = self.worker.task_definition.task_role
        else:
            lambda_consumer = self._add_lambda(consumer, metrics_namespace)
            self.function = lambda_consumer.function
            consumer_principal = lambda_consumer.function
        grant_consumer(
            consumer_principal,
            queue=self.queue,
            dead_letter_queue=self.dead_letter_queue,
            topic=self.result_topic,
            status_table=self.status_table,
            idempotency_table=self.idempotency_table,
        )
        self._acknowledge_topic_key(consumer_principal, customer_key=result_topic_key is not None)
        self.queue.grant(consumer_principal, "sqs:SendMessage")  # follow-ups (ctx.submit)
        self.schedules.grant_one_time(consumer_principal)

        self.api = TaskApi(
            self,
            "Api",
            tasks=self.tasks,
            queue=self.queue,
            status_table=self.status_table,
            access=access or IamAccess(),
            options=api or ApiOptions(),
        )
        self.alarm_topic: sns.ITopic | None = (
            make_alarm_topic(self, "AlarmTopic") if alarm_topic is True else alarm_topic or None
        )
        self.alarms = TaskAlarms(
            self,
            "Alarms",
            queue=self.queue,
            dead_letter_queue=self.dead_letter_queue,
            max_message_age=max_message_age or Duration.minutes(15),
            function=self.function,
            topic=self.alarm_topic,
        )

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` (a role, user or group) call the API when access is IAM."""
        return self.api.grant_invoke(grantee)

    def environment(self, metrics_namespace: str) -> dict[str, str]:
        """The consumer's settings (``TASKWORKER_*``), as the core's settings object reads them."""
        return {
            "TASKWORKER_APP": self.app_path,
            "TASKWORKER_QUEUE_URL": self.queue.queue_url,
            "TASKWORKER_DLQ_URL": self.dead_letter_queue.queue_url,
            "TASKWORKER_RESULT_TOPIC_ARN": self.result_topic.topic_arn,
            "TASKWORKER_STATUS_TABLE": self.status_table.table_name,
            "TASKWORKER_IDEMPOTENCY_TABLE": self.idempotency_table.table_name,
            "TASKWORKER_METRICS_NAMESPACE": metrics_namespace,
            # saves the consumer a GetQueueAttributes call to learn the redrive limit
            "TASKWORKER_MAX_RECEIVE_COUNT": str(MAX_RECEIVE_COUNT),
            **self.schedules.environment(),
        }

    def _add_lambda(self, options: ConsumerOptions, metrics_namespace: str) -> LambdaConsumer:
        runtime = options.runtime or default_python_runtime()
        package = LambdaPackage(
            app=self.app_path,
            project=self.project,
            runtime=runtime,
            architecture=options.architecture,
            bundle_boto3=options.bundle_boto3,
        )
        lambda_consumer = LambdaConsumer(
            self,
            "Consumer",
            code=package.code(),
            runtime=runtime,
            timeout=self.consumer_timeout,
            environment=self.environment(metrics_namespace),
            queue=self.queue,
            options=options,
        )
        if options.runtime is None:
            self._acknowledge_runtime(lambda_consumer.function, runtime)
        return lambda_consumer

    def _add_worker(self, options: WorkerOptions, metrics_namespace: str) -> FargateWorker:
        staging = Path(Stage.of(self).outdir) / ".taskworker"  # type: ignore[union-attr]
        image = options.image or worker_image(self.project, staging_root=staging)
        worker = FargateWorker(
            self,
            "Worker",
            command=["worker", self.app_path],
            image=image,
            environment=self.environment(metrics_namespace),
            queue=self.queue,
            options=options,
        )
        self.queue.grant(worker.task_definition.task_role, *WORKER_QUEUE_ACTIONS)
        return worker

    def _acknowledge_runtime(self, function: lambda_.Function, runtime: lambda_.Runtime) -> None:
        latest = latest_python_runtime()
        if runtime.name != latest.name:
            acknowledge(
                function,
                "L1",
                f"{runtime.name} is the newest runtime this machine can compile the asset's "
                f"bytecode for (only the same minor version can); {latest.name} would ship "
                "sources only and compile them at every cold start. Synthesize with that Python "
                "(or put it on PATH), or set ConsumerOptions(runtime=...), to move.",
            )

    def _acknowledge_topic_key(self, principal: iam.IGrantable, *, customer_key: bool) -> None:
        """Publishing to an encrypted topic needs data-key generation on its key."""
        role = principal.grant_principal
        if not isinstance(role, Construct):
            return
        acknowledge(
            role,
            "IAM5[Action::kms:GenerateDataKey*]",
            "sns:Publish to a KMS-encrypted topic needs GenerateDataKey and its variants on the "
            "topic's key; CDK's grant_publish names them with the service's own wildcard.",
        )
        if not customer_key:
            acknowledge(
                role,
                f"IAM5[Resource::{arn_prefix(role, 'kms')}:key/*]",
                "The topic uses the AWS-managed key alias/aws/sns whose key id is unknown at "
                "synth time; the statement is limited by the kms:ResourceAliases condition.",
            )


def _schedules_of(app: str) -> list[Any]:
    """The app's ``app.schedule`` declarations (the module is already imported by then)."""
    from taskworker import load_app

    return list(load_app(app).schedules.values())

"""``AsyncTaskService``: the whole pipeline for one TaskApp, derived from its registry."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack, Stage
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .access import ApiAccess, IamAccess
from .alarms import TaskAlarms
from .api import ApiOptions, TaskApi
from .consumer import ConsumerOptions, LambdaConsumer
from .grants import WORKER_QUEUE_ACTIONS, grant_consumer
from .nag import acknowledge, arn_prefix
from .packaging import LambdaPackage
from .plans import QueuePlan, plan_queues
from .project import Project, find_project
from .queues import TaskQueues
from .registry import AppSpec, TaskSpec, app_module, load_app_spec
from .runtime import default_python_runtime, latest_python_runtime
from .schedules import TaskSchedules
from .tables import TaskTables
from .topics import alarm_topic as make_alarm_topic
from .topics import result_topic
from .worker import FargateWorker, WorkerOptions
from .worker_image import worker_image

__all__ = ["AsyncTaskService", "DeployedQueue"]


@dataclass
class DeployedQueue:
    """The resources of one queue of the app: the queue, its DLQ, its consumer (a Lambda
    ``function`` or a Fargate ``worker``) and its alarms."""

    plan: QueuePlan
    queue: sqs.Queue
    dead_letter_queue: sqs.Queue
    alarms: TaskAlarms | None = None
    function: lambda_.IFunction | None = None
    worker: FargateWorker | None = None


class AsyncTaskService(Construct):
    """API Gateway -> SQS -> consumer -> SNS + DynamoDB for the TaskApp at ``app``.

    The app is imported at synth time: one API route and request model per registered task,
    and one queue, DLQ, consumer and set of alarms per queue of the app (``app.queue(...)``;
    an app that declares none has the one default queue). Each queue's consumer timeout
    follows the slowest task on that queue. A queue is consumed by a Lambda function or, for
    tasks that outlast Lambda, a Fargate service (``consumer="worker"``; the undeclared
    default queue follows ``worker=True`` / ``WorkerOptions``); a consumer only ever
    receives from its own queue. ``consumer`` and ``worker`` are the defaults of every
    queue of their kind, for what the declaration leaves open.

    ``queue``, ``dead_letter_queue``, ``function``, ``worker`` and ``alarms`` are the default
    queue's; ``queues`` holds every queue's resources by name.

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
        self.app_spec: AppSpec = load_app_spec(app, search_path=root)
        self.tasks: tuple[TaskSpec, ...] = self.app_spec.tasks
        self.project: Project = find_project(app_module(app).split(".")[0], root=root)
        self._consumer_options = consumer or ConsumerOptions()
        self._metrics_namespace = metrics_namespace
        plans = plan_queues(
            self.app_spec,
            consumer=self._consumer_options,
            worker=WorkerOptions() if worker is True else worker or None,
        )
        self.queues: dict[str, DeployedQueue] = {plan.name: self._add_queues(plan) for plan in plans}
        default = next(iter(self.queues.values()))
        self.queue = default.queue
        self.dead_letter_queue = default.dead_letter_queue
        self.consumer_timeout = Duration.seconds(default.plan.consumer_timeout)
        self.schedules = TaskSchedules(
            self,
            "Schedules",
            schedules=_schedules_of(app),
            queues={name: deployed.queue for name, deployed in self.queues.items()},
            fifo_queues={name for name, deployed in self.queues.items() if deployed.plan.fifo},
            queue_of={task.name: task.queue for task in self.tasks},
        )
        self.result_topic = result_topic(self, "ResultTopic", key=result_topic_key)
        tables = TaskTables(self, "Tables", removal_policy=removal_policy)
        self.status_table = tables.status
        self.idempotency_table = tables.idempotency

        self._code: lambda_.Code | None = None
        self._image: ecs.ContainerImage | None = None
        self._cluster: ecs.ICluster | None = None
        for deployed in self.queues.values():
            self._add_consumer(deployed, customer_key=result_topic_key is not None)
        self.function = default.function
        self.worker = default.worker

        self.api = TaskApi(
            self,
            "Api",
            tasks=self.tasks,
            queues={name: deployed.queue for name, deployed in self.queues.items()},
            status_table=self.status_table,
            access=access or IamAccess(),
            options=api or ApiOptions(),
        )
        self.alarm_topic: sns.ITopic | None = (
            make_alarm_topic(self, "AlarmTopic") if alarm_topic is True else alarm_topic or None
        )
        for deployed in self.queues.values():
            deployed.alarms = TaskAlarms(
                self,
                f"Alarms{deployed.plan.suffix}",
                queue=deployed.queue,
                dead_letter_queue=deployed.dead_letter_queue,
                max_message_age=max_message_age or Duration.minutes(15),
                function=deployed.function,
                topic=self.alarm_topic,
            )
        self.alarms = default.alarms

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` (a role, user or group) call the API when access is IAM."""
        return self.api.grant_invoke(grantee)

    def environment(self, metrics_namespace: str, queue: str | None = None) -> dict[str, str]:
        """The settings (``TASKWORKER_*``) of the consumer of ``queue`` (default: the
        default queue), as the core's settings object reads them."""
        own = self.queues[queue] if queue else next(iter(self.queues.values()))
        return {
            "TASKWORKER_APP": self.app_path,
            "TASKWORKER_QUEUE": own.plan.name,
            "TASKWORKER_QUEUE_URL": own.queue.queue_url,
            "TASKWORKER_QUEUE_URLS": Stack.of(self).to_json_string(
                {name: deployed.queue.queue_url for name, deployed in self.queues.items()}
            ),
            "TASKWORKER_DLQ_URL": own.dead_letter_queue.queue_url,
            "TASKWORKER_RESULT_TOPIC_ARN": self.result_topic.topic_arn,
            "TASKWORKER_STATUS_TABLE": self.status_table.table_name,
            "TASKWORKER_IDEMPOTENCY_TABLE": self.idempotency_table.table_name,
            "TASKWORKER_METRICS_NAMESPACE": metrics_namespace,
            # saves the consumer a GetQueueAttributes call to learn the redrive limit
            "TASKWORKER_MAX_RECEIVE_COUNT": str(own.plan.max_receive_count),
            **self.schedules.environment(),
        }

    def _add_queues(self, plan: QueuePlan) -> DeployedQueue:
        pair = TaskQueues(
            self,
            f"Queues{plan.suffix}",
            visibility_timeout=Duration.seconds(plan.visibility_timeout),
            fifo=plan.fifo,
            max_receive_count=plan.max_receive_count,
        )
        return DeployedQueue(plan=plan, queue=pair.queue, dead_letter_queue=pair.dead_letter_queue)

    def _add_consumer(self, deployed: DeployedQueue, *, customer_key: bool) -> None:
        """The queue's consumer with its grants: receive from its own queue only."""
        principal: iam.IGrantable
        if deployed.plan.worker_options is not None:
            deployed.worker = self._add_worker(deployed, deployed.plan.worker_options)
            principal = deployed.worker.task_definition.task_role
        else:
            assert deployed.plan.lambda_options is not None
            function = self._add_lambda(deployed, deployed.plan.lambda_options)
            deployed.function = principal = function
        grant_consumer(
            principal,
            queue=deployed.queue,
            dead_letter_queue=deployed.dead_letter_queue,
            app_queues=[other.queue for other in self.queues.values()],
            topic=self.result_topic,
            status_table=self.status_table,
            idempotency_table=self.idempotency_table,
        )
        self._acknowledge_topic_key(principal, customer_key=customer_key)
        self.schedules.grant_one_time(principal)

    def _add_lambda(self, deployed: DeployedQueue, options: ConsumerOptions) -> lambda_.Function:
        runtime = options.runtime or default_python_runtime()
        if self._code is None:  # one asset for every Lambda consumer
            self._code = LambdaPackage(
                app=self.app_path,
                project=self.project,
                runtime=runtime,
                architecture=options.architecture,
                bundle_boto3=options.bundle_boto3,
            ).code()
        lambda_consumer = LambdaConsumer(
            self,
            f"Consumer{deployed.plan.suffix}",
            code=self._code,
            runtime=runtime,
            timeout=Duration.seconds(deployed.plan.consumer_timeout),
            environment=self.environment(self._metrics_namespace, deployed.plan.name),
            queue=deployed.queue,
            options=options,
        )
        if options.runtime is None:
            self._acknowledge_runtime(lambda_consumer.function, runtime)
        return lambda_consumer.function

    def _add_worker(self, deployed: DeployedQueue, options: WorkerOptions) -> FargateWorker:
        if self._image is None:  # one image for every worker
            staging = Path(Stage.of(self).outdir) / ".taskworker"  # type: ignore[union-attr]
            self._image = options.image or worker_image(self.project, staging_root=staging)
        name_queue = self.app_spec.declares_queues
        worker = FargateWorker(
            self,
            f"Worker{deployed.plan.suffix}",
            command=["worker", self.app_path, *deployed.plan.worker_arguments(name_queue=name_queue)],
            image=options.image or self._image,
            environment=self.environment(self._metrics_namespace, deployed.plan.name),
            queue=deployed.queue,
            options=options,
            cluster=self._cluster,
        )
        self._cluster = worker.cluster
        deployed.queue.grant(worker.task_definition.task_role, *WORKER_QUEUE_ACTIONS)
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

"""The example stack: one AsyncTaskService plus the outputs a caller needs (each queue's
URL and DLQ URL: ``QueueUrl``/``DeadLetterQueueUrl`` for the default queue, ``QueueUrlLong``
and so on for the others)."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from .service import AsyncTaskService

__all__ = ["TaskworkerStack"]


class TaskworkerStack(Stack):
    """Deploys the TaskApp ``app``; extra keyword arguments go to ``AsyncTaskService``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        app: str = "examples.reports:app",
        service_options: dict[str, Any] | None = None,
        **stack_kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **stack_kwargs)
        self.service = AsyncTaskService(self, "Tasks", app=app, **(service_options or {}))
        CfnOutput(self, "ApiUrl", value=self.service.api.url, description="Base URL of the API")
        for deployed in self.service.queues.values():  # the default queue's ids have no suffix
            suffix = deployed.plan.suffix
            CfnOutput(self, f"QueueUrl{suffix}", value=deployed.queue.queue_url)
            CfnOutput(self, f"DeadLetterQueueUrl{suffix}", value=deployed.dead_letter_queue.queue_url)
        CfnOutput(self, "ResultTopicArn", value=self.service.result_topic.topic_arn)
        CfnOutput(self, "StatusTableName", value=self.service.status_table.table_name)

"""The example stack: one AsyncTaskService plus the outputs a caller needs."""

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
        CfnOutput(self, "QueueUrl", value=self.service.queue.queue_url)
        CfnOutput(self, "DeadLetterQueueUrl", value=self.service.dead_letter_queue.queue_url)
        CfnOutput(self, "ResultTopicArn", value=self.service.result_topic.topic_arn)
        CfnOutput(self, "StatusTableName", value=self.service.status_table.table_name)

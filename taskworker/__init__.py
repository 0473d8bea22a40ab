"""taskworker: typed heavy-task consumers for AWS SQS, in Lambda or in a container."""

from taskworker.app import TaskApp, load_app
from taskworker.context import Deadline, TaskCall, TaskContext
from taskworker.errors import (
    PermanentError,
    RetryableError,
    TaskCancelledError,
    TaskDefinitionError,
    TaskFailedError,
    TaskNotFoundError,
    TaskworkerError,
    WaitTimeoutError,
)
from taskworker.middleware import Middleware
from taskworker.outcomes import Cancelled, ErrorInfo, Failed, Outcome, RetryLater, Succeeded, TaskResult
from taskworker.queues import QueueSpec
from taskworker.retry import Retry
from taskworker.settings import Settings

__all__ = [
    "Cancelled",
    "Deadline",
    "ErrorInfo",
    "Failed",
    "Middleware",
    "Outcome",
    "PermanentError",
    "QueueSpec",
    "Retry",
    "RetryLater",
    "RetryableError",
    "Settings",
    "Succeeded",
    "TaskApp",
    "TaskCall",
    "TaskCancelledError",
    "TaskContext",
    "TaskDefinitionError",
    "TaskFailedError",
    "TaskNotFoundError",
    "TaskResult",
    "TaskworkerError",
    "WaitTimeoutError",
    "load_app",
]

"""AWS CDK constructs that deploy a taskworker TaskApp (the `infra` extra of taskworker-aws)."""

from .access import ApiAccess, ApiKeyAccess, AuthorizerAccess, IamAccess
from .api import ApiOptions
from .consumer import ConsumerOptions
from .service import AsyncTaskService
from .worker import WorkerOptions

__all__ = [
    "ApiAccess",
    "ApiKeyAccess",
    "ApiOptions",
    "AsyncTaskService",
    "AuthorizerAccess",
    "ConsumerOptions",
    "IamAccess",
    "WorkerOptions",
]

"""Cross-cutting concerns as middleware around the one dispatch path (see :mod:`.base`)."""

from taskworker.middleware.base import HandlerCall, Middleware, compose
from taskworker.middleware.retries import InProcessRetries

__all__ = ["HandlerCall", "InProcessRetries", "Middleware", "compose"]

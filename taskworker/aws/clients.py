"""boto3 clients, created once and lazily.

``import boto3`` costs about a third of a second, which every Lambda cold start would pay
even when no feature needs AWS; so nothing imports it until a client is first asked for.
Clients can be injected (the testing kit's fakes, or clients with custom configuration).
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from typing import Any

SERVICES = ("sqs", "sns", "dynamodb", "scheduler")
CALL_TIMEOUTS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0)
"""The per-call timeouts :meth:`Clients.time_limit` rounds down to: a handful of client
sets per process, instead of a new client for every invocation's time left."""


class Clients:
    """The AWS clients an app uses, built on first access and then reused."""

    def __init__(self, **clients: Any) -> None:
        unknown = set(clients) - set(SERVICES)
        if unknown:
            raise ValueError(f"unknown AWS services {sorted(unknown)}; expected some of {SERVICES}")
        self._clients: dict[str, Any] = dict(clients)
        self._injected = frozenset(clients)
        self._bounded: dict[tuple[str, float], Any] = {}
        self._limit = threading.local()
        self._lock = threading.Lock()

    def time_limit(self, seconds: float) -> AbstractContextManager[None]:
        """Bound every call made on this thread inside to about ``seconds`` (one attempt).

        Lambda uses this so that the calls after a batch fit the invocation's time left:
        boto3's defaults (60 s per read, retried) would outlast the function, and Lambda
        would then redeliver the whole batch. Injected clients are used as they are.
        """
        fitting = [timeout for timeout in CALL_TIMEOUTS if timeout <= seconds]
        return _TimeLimit(self._limit, fitting[-1] if fitting else CALL_TIMEOUTS[0])

    @property
    def sqs(self) -> Any:
        return self._get("sqs")

    @property
    def sns(self) -> Any:
        return self._get("sns")

    @property
    def dynamodb(self) -> Any:
        return self._get("dynamodb")

    @property
    def scheduler(self) -> Any:
        """EventBridge Scheduler, for tasks more than 15 minutes ahead."""
        return self._get("scheduler")

    def _get(self, service: str) -> Any:
        limit: float | None = getattr(self._limit, "seconds", None)
        if limit is not None and service not in self._injected:
            return self._bounded_client(service, limit)
        client = self._clients.get(service)
        if client is None:
            with self._lock:  # boto3's default session is not safe to use from two threads
                client = self._clients.get(service)
                if client is None:
                    import boto3

                    client = self._clients[service] = boto3.client(service)  # type: ignore[call-overload]
        return client

    def _bounded_client(self, service: str, seconds: float) -> Any:
        client = self._bounded.get((service, seconds))
        if client is None:
            with self._lock:
                client = self._bounded.get((service, seconds))
                if client is None:
                    import boto3
                    from botocore.config import Config

                    config = Config(
                        connect_timeout=seconds, read_timeout=seconds, retries={"total_max_attempts": 1}
                    )
                    client = boto3.client(service, config=config)  # type: ignore[call-overload]
                    self._bounded[(service, seconds)] = client
        return client


class _TimeLimit:
    """:meth:`Clients.time_limit` as a plain context manager: entered twice per Lambda
    invocation, where a generator-based one costs a microsecond more each time."""

    __slots__ = ("_limit", "_previous", "_seconds")

    def __init__(self, limit: threading.local, seconds: float) -> None:
        self._limit = limit
        self._seconds = seconds

    def __enter__(self) -> None:
        self._previous = getattr(self._limit, "seconds", None)
        self._limit.seconds = self._seconds

    def __exit__(self, *exc_info: object) -> None:
        self._limit.seconds = self._previous

"""boto3 clients, created once and lazily.

``import boto3`` costs about a third of a second, which every Lambda cold start would pay
even when no feature needs AWS; so nothing imports it until a client is first asked for.
Clients can be injected (the testing kit's fakes, or clients with custom configuration).
"""

from __future__ import annotations

import threading
from typing import Any

SERVICES = ("sqs", "sns", "dynamodb")


class Clients:
    """The AWS clients an app uses, built on first access and then reused."""

    def __init__(self, **clients: Any) -> None:
        unknown = set(clients) - set(SERVICES)
        if unknown:
            raise ValueError(f"unknown AWS services {sorted(unknown)}; expected some of {SERVICES}")
        self._clients: dict[str, Any] = dict(clients)
        self._lock = threading.Lock()

    @property
    def sqs(self) -> Any:
        return self._get("sqs")

    @property
    def sns(self) -> Any:
        return self._get("sns")

    @property
    def dynamodb(self) -> Any:
        return self._get("dynamodb")

    def _get(self, service: str) -> Any:
        client = self._clients.get(service)
        if client is None:
            with self._lock:  # boto3's default session is not safe to use from two threads
                client = self._clients.get(service)
                if client is None:
                    import boto3

                    client = self._clients[service] = boto3.client(service)  # type: ignore[call-overload]
        return client

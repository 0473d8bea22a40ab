"""Local AWS endpoints for the benchmarks that count calls: moto's server and boto3 clients.

Clients carry dummy credentials and an explicit ``endpoint_url``, so nothing here reads or
changes the environment. :func:`counting` counts every request a client makes, by
operation, with a boto3 ``before-call`` event hook (the count is of API calls, not HTTP
attempts: a retried call counts once).
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@contextlib.contextmanager
def moto_in_process() -> Iterator[str]:
    """moto's threaded server on 127.0.0.1 in this process: the endpoint ``taskworker dev`` embeds."""
    from taskworker.dev.endpoint import EmbeddedEndpoint

    endpoint = EmbeddedEndpoint(port=0)
    try:
        yield endpoint.start()
    finally:
        endpoint.stop()


@contextlib.contextmanager
def moto_in_subprocess() -> Iterator[str]:
    """moto's server in its own process, so its work does not share our GIL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(400):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.1):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"moto's server did not start on port {port}")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(10)


def client(endpoint: str, service: str) -> Any:
    import boto3

    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, **CREDENTIALS)  # type: ignore[call-overload]


def counting(target: Any, counts: Counter[str] | None = None) -> Counter[str]:
    """Count every HTTP request ``target`` (a boto3 client) sends, by operation name.

    Counted where requests leave, at the client's HTTP session, so that the worker's direct
    SQS transport (which skips botocore's events, and so would skip an event hook) and
    botocore's own retries are counted alike.
    """
    counts = Counter() if counts is None else counts
    session = target._endpoint.http_session
    send = session.send

    def counted_send(request: Any) -> Any:
        counts[_operation(request)] += 1
        return send(request)

    session.send = counted_send
    return counts


def _operation(request: Any) -> str:
    """The operation of a JSON-protocol (X-Amz-Target) or query-protocol (Action=) request."""
    target = request.headers.get("X-Amz-Target")
    if target:
        return str(target.decode() if isinstance(target, bytes) else target).rsplit(".", 1)[-1]
    body = request.body.decode() if isinstance(request.body, bytes) else str(request.body or "")
    return dict(parse_qsl(body)).get("Action", "unknown")


def counted_client(endpoint: str, service: str) -> tuple[Any, Counter[str]]:
    made = client(endpoint, service)
    return made, counting(made)


def queue_arn(sqs: Any, queue_url: str) -> str:
    """The library's own lookup (``taskworker.dev.resources``), kept here for the benchmarks."""
    from taskworker.dev.resources import queue_arn as lookup

    return lookup(sqs, queue_url)


def unique(prefix: str) -> str:
    return f"{prefix}-{time.time_ns()}"

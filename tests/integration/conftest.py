"""Integration fixtures: one moto server per session, fresh AWS resources per test.

Everything talks to moto over HTTP through ordinary boto3 clients, exactly as the library
talks to AWS; nothing is patched. Queues stay shallow because moto's SQS cost grows with
queue depth.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest
from moto_stack import REGION, Stack, make_stack


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise

    saved = {
        k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    }
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    port = server._server.server_port
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def stack(moto_endpoint: str) -> Stack:
    return make_stack(moto_endpoint)

"""The embedded AWS endpoint: moto's server on 127.0.0.1, reached through boto3 only.

Everything else in the dev stack (and the user's own AWS CLI) talks to it over HTTP with
ordinary clients, exactly as it would talk to AWS, so nothing local is special-cased.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from taskworker.dev.ports import LOCALHOST, ensure_free

DEFAULT_REGION = "us-east-1"
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


class EmbeddedEndpoint:
    """moto's threaded server; ``url`` is valid between :meth:`start` and :meth:`stop`."""

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self._server: Any = None
        self.url = ""

    def start(self) -> str:
        ensure_free(self.port, "embedded AWS endpoint", "--aws-port")
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
        self._server = ThreadedMotoServer(ip_address=LOCALHOST, port=self.port, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


@contextmanager
def aws_environment(endpoint_url: str, region: str | None = None) -> Iterator[None]:
    """Point boto3 (in this process and its children) at ``endpoint_url``.

    Uses boto3's own ``AWS_ENDPOINT_URL``; dummy credentials are set only where none
    exist, so a user pointing at LocalStack with their own profile keeps it.
    """
    changes = {"AWS_ENDPOINT_URL": endpoint_url}
    changes["AWS_DEFAULT_REGION"] = region or os.environ.get("AWS_DEFAULT_REGION", DEFAULT_REGION)
    if not os.environ.get("AWS_ACCESS_KEY_ID") and not os.environ.get("AWS_PROFILE"):
        changes.update(LOCAL_CREDENTIALS)
    saved = {name: os.environ.get(name) for name in changes}
    os.environ.update(changes)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

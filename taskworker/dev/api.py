"""The local HTTP API: the deployed API Gateway's paths, bodies and status codes.

``POST /tasks/{task_type}`` validates the JSON body against the task's input model (the
deployed API validates against the same JSON Schema at the edge) and sends it to the queue
with the ``task_type`` attribute, and ``idempotency_key`` from an ``Idempotency-Key``
header; it answers 202 ``{"task_id": ...}``. ``GET /tasks/{task_id}`` returns the status
record. Client code written against this moves to AWS unchanged. Built on the standard
library's threading HTTP server: a dev tool needs no web framework.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from taskworker.dev.ports import LOCALHOST, ensure_free
from taskworker.errors import validation_summary
from taskworker.messages import MAX_MESSAGE_BYTES, message_size, send_attributes

if TYPE_CHECKING:
    from taskworker.app import TaskApp

TASK_PATH = re.compile(r"^/tasks/([^/]+)$")
IDEMPOTENCY_HEADER = "Idempotency-Key"
CORRELATION_HEADER = "X-Correlation-Id"
FORWARDED_HEADERS = ("Content-Type", IDEMPOTENCY_HEADER, CORRELATION_HEADER)
# The deployed API's error messages (infra/taskworker_infra/api.py), word for word.
INVALID_BODY = "the request body does not match the task input schema"
WRONG_MEDIA_TYPE = "send the task payload as application/json"
TOO_LARGE = "the task payload is larger than the queue accepts (256 KiB)"


class LocalApi:
    """Serves the API for ``app`` on 127.0.0.1:``port`` in a background thread."""

    def __init__(self, app: TaskApp, sqs: Any, queue_url: str, port: int = 8000) -> None:
        self.app = app
        self.sqs = sqs
        self.queue_url = queue_url
        self.port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://{LOCALHOST}:{self._server.server_address[1]}"

    def start(self) -> str:
        ensure_free(self.port, "local API", "--port")
        self._server = ThreadingHTTPServer((LOCALHOST, self.port), _handler_class(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-api", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def submit(self, task_type: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, Any]:
        """The POST route's logic, separate from HTTP plumbing: (status, JSON body)."""
        request_id = str(uuid.uuid4())
        task = self.app.registry.get(task_type)
        if task is None:
            return HTTPStatus.NOT_FOUND, _error(f"unknown task type '{task_type}'", request_id)
        content_type = headers.get("Content-Type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            return HTTPStatus.UNSUPPORTED_MEDIA_TYPE, _error(WRONG_MEDIA_TYPE, request_id)
        text = body.decode("utf-8", errors="replace")
        attributes = send_attributes(
            task_type,
            idempotency_key=headers.get(IDEMPOTENCY_HEADER) or None,
            correlation_id=headers.get(CORRELATION_HEADER) or request_id,
        )
        if message_size(text, attributes) > MAX_MESSAGE_BYTES:
            return HTTPStatus.REQUEST_ENTITY_TOO_LARGE, _error(TOO_LARGE, request_id)
        try:
            task.input_model.model_validate_json(text)
        except ValidationError as exc:
            return HTTPStatus.BAD_REQUEST, {**_error(INVALID_BODY, request_id), "errors": _errors(exc)}
        response = self.sqs.send_message(
            QueueUrl=self.queue_url,
            MessageBody=text,
            MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        )
        return HTTPStatus.ACCEPTED, {"task_id": response["MessageId"]}

    def status(self, task_id: str) -> tuple[int, Any]:
        status = self.app.get_status(task_id)
        if status is None:
            return HTTPStatus.NOT_FOUND, {"message": "task not found"}
        return HTTPStatus.OK, status.as_api_json()


def _error(message: str, request_id: str) -> dict[str, str]:
    return {"message": message, "request_id": request_id}


def _errors(exc: ValidationError) -> str:
    """One string, like API Gateway's ``$context.error.validationErrorString``."""
    return f"[{validation_summary(exc)}]"


def _handler_class(api: LocalApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "taskworker-dev"

        def do_POST(self) -> None:
            match = TASK_PATH.match(self.path.split("?")[0])
            length = int(self.headers.get("Content-Length") or 0)
            if match is None:
                self._reply(HTTPStatus.NOT_FOUND, {"message": "Not Found"})
            elif length > MAX_MESSAGE_BYTES:
                self._reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, _error(TOO_LARGE, str(uuid.uuid4())))
            else:
                body = self.rfile.read(length)
                headers = {name: self.headers.get(name, "") for name in FORWARDED_HEADERS}
                self._reply(*api.submit(match.group(1), body, headers))

        def do_GET(self) -> None:
            match = TASK_PATH.match(self.path.split("?")[0])
            if match is None:
                self._reply(HTTPStatus.NOT_FOUND, {"message": "Not Found"})
            else:
                self._reply(*api.status(match.group(1)))

        def _reply(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the dev stack prints its own lines."""

    return Handler

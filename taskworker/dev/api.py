"""The local HTTP API: the deployed API Gateway's paths, bodies and status codes.

``POST /tasks/{task_type}`` validates the JSON body against the task's input model (the
deployed API validates against the same JSON Schema at the edge) and sends it to the task's
queue (``app.queue``; each queue's URL from ``queue_urls``) with the deployed API's
attributes: ``task_type``, ``correlation_id``, ``idempotency_key`` and ``caller``, always
:data:`~taskworker.edge.LOCAL_CALLER` (nobody authenticates here); it answers 202
``{"task_id": ...}``. ``GET /tasks/{task_id}`` returns the status record;
``DELETE /tasks/{task_id}`` asks for cancellation, as the local caller (202, 404, 409).
Client code written against this moves to AWS unchanged.

What a request gets is decided in one place, :meth:`LocalApi.answer` (a table of routes
and plain functions of method, path, headers and body), from the rules the deployed
templates are rendered from (:mod:`taskworker.edge`: header names, messages, error codes),
so the two answer alike; ``tests/infra/api_cases.py`` is the table both are tested with.

The HTTP side is uvicorn (h11) and starlette, from the ``dev`` extra:
a malformed request (a bad ``Content-Length``, an unknown HTTP version) gets a JSON 400, a
body is read only up to the queue's size limit and within ``body_timeout`` seconds, and a
request whose body did not arrive whole enqueues nothing.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from botocore.exceptions import ClientError
from pydantic import ValidationError

from taskworker import edge
from taskworker.dev.ports import LOCALHOST, ensure_free
from taskworker.messages import (
    IDEMPOTENCY_KEY,
    MAX_MESSAGE_BYTES,
    iso_from_epoch,
    message_size,
    send_attributes,
)

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from taskworker.app import TaskApp
    from taskworker.background_server import BackgroundServer
    from taskworker.registry import TaskDefinition

TASK_PATH = re.compile(r"^/tasks/([^/]+)$")
"""Matched against the path as sent; the parameter is then percent-decoded, as API Gateway
decodes path parameters."""
TOO_LARGE = edge.ENQUEUE_ERRORS.answer("InvalidParameterValue", HTTPStatus.BAD_REQUEST)
"""What the deployed API answers for a body over SQS's limit (SQS's InvalidParameterValue,
mapped by the same table), so the local API refuses it with the same answer."""
# The dev server's own, for what API Gateway's front door refuses before any route runs.
MALFORMED = "malformed HTTP request"
INCOMPLETE = "the request body did not arrive whole"
BODY_TIMEOUT_SECONDS = 10.0
HTTP_VERSIONS = ("1.0", "1.1")


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, JSON body, and extra headers (``Retry-After``)."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


class LocalApi:
    """Serves the API for ``app`` on 127.0.0.1:``port`` in a background thread."""

    def __init__(
        self,
        app: TaskApp,
        sqs: Any,
        queue_url: str,
        port: int = 8000,
        *,
        body_timeout: float = BODY_TIMEOUT_SECONDS,
    ) -> None:
        self.app = app
        self.sqs = sqs
        self.queue_url = queue_url
        self.port = port
        self.body_timeout = body_timeout
        self._server: BackgroundServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        return self._server.url

    def start(self) -> str:
        from taskworker.background_server import BackgroundServer

        ensure_free(self.port, "local API", "--port")
        self._server = BackgroundServer(
            _asgi_app(self),
            LOCALHOST,
            self.port,
            name="local API",
            http=_json_errors_protocol(),
            lifespan="off",
            timeout_keep_alive=5,
        )
        return self._server.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    # ------------------------------------------------------------------ request -> answer

    def answer(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Answer:
        """What the API answers to a request that arrived whole; ``path`` as sent
        (percent-encoded), headers in any case."""
        match = TASK_PATH.match(path)
        route = _ROUTES.get(method) if match else None
        if match is None or route is None:
            return Answer(HTTPStatus.NOT_FOUND, {"message": "Not Found"})
        return route(self, unquote(match.group(1)), headers, body)

    def submit(self, task_type: str, headers: Mapping[str, str], body: bytes) -> Answer:
        """POST /tasks/{task_type}: validate and enqueue, in the deployed API's order."""
        request_id = str(uuid.uuid4())
        task = self.app.registry.get(task_type)
        if task is None:
            return _error(HTTPStatus.NOT_FOUND, edge.unknown_task(task_type), request_id)
        if not edge.accepts_json(edge.header(headers, "Content-Type")):
            return _error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, edge.WRONG_MEDIA_TYPE, request_id)
        try:
            text = body.decode("utf-8")
            task.input_model.model_validate_json(text)
        except (UnicodeDecodeError, ValidationError):  # no detail: it may echo the payload
            return _error(HTTPStatus.BAD_REQUEST, edge.INVALID_BODY, request_id)
        attributes = send_attributes(
            task_type,
            idempotency_key=edge.header(headers, edge.IDEMPOTENCY_HEADER),
            correlation_id=edge.header(headers, edge.CORRELATION_HEADER) or request_id,
            caller=edge.LOCAL_CALLER,
        )
        if message_size(text, attributes) > MAX_MESSAGE_BYTES:
            return _refusal(TOO_LARGE, request_id)
        try:
            response = self.sqs.send_message(**self._message(task, text, attributes, request_id))
        except Exception as exc:
            return _refusal(_rule(edge.ENQUEUE_ERRORS, exc), request_id)
        return Answer(HTTPStatus.ACCEPTED, {"task_id": response["MessageId"]})

    def _message(
        self, task: TaskDefinition, text: str, attributes: Mapping[str, str], request_id: str
    ) -> dict[str, Any]:
        """SendMessage's arguments: to the queue the task is declared on (its
        ``queue_urls`` entry, else the API's queue), with a FIFO queue's group and dedup id."""
        url = (self.app.settings.queue_urls or {}).get(task.queue) or self.queue_url
        message: dict[str, Any] = {
            "QueueUrl": url,
            "MessageBody": text,
            "MessageAttributes": {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        }
        if url.endswith(".fifo"):
            message["MessageGroupId"] = task.group
            message["MessageDeduplicationId"] = (attributes.get(IDEMPOTENCY_KEY) or request_id)[:128]
        return message

    def status(self, task_id: str, headers: Mapping[str, str], body: bytes) -> Answer:
        """GET /tasks/{task_id}: the status record."""
        request_id = str(uuid.uuid4())
        try:
            status = self.app.get_status(task_id)
        except Exception as exc:
            return _refusal(_rule(edge.STATUS_ERRORS, exc), request_id)
        if status is None:
            return _error(HTTPStatus.NOT_FOUND, edge.TASK_NOT_FOUND, request_id)
        return Answer(HTTPStatus.OK, status.as_api_json())

    def cancel(self, task_id: str, headers: Mapping[str, str], body: bytes) -> Answer:
        """DELETE /tasks/{task_id}: the deployed API's conditional UpdateItem, as the local
        caller (tasks another caller sent are not found, as in AWS)."""
        from taskworker.status import status_table

        request_id = str(uuid.uuid4())
        table = status_table(self.app.settings.status_table, self.app.clients.dynamodb)
        try:
            result = table.request_cancel(task_id, iso_from_epoch(time.time()), caller=edge.LOCAL_CALLER)
        except Exception as exc:
            return _refusal(_rule(edge.CANCEL_ERRORS, exc), request_id)
        if result.answer == "not_found":
            return _error(HTTPStatus.NOT_FOUND, edge.TASK_NOT_FOUND, request_id)
        if result.answer == "finished":
            return _error(HTTPStatus.CONFLICT, edge.TASK_FINISHED, request_id)
        return Answer(
            HTTPStatus.ACCEPTED, {"task_id": task_id, "cancel_requested_at": result.cancel_requested_at}
        )


_ROUTES: dict[str, Callable[[LocalApi, str, Mapping[str, str], bytes], Answer]] = {
    "POST": LocalApi.submit,
    "GET": LocalApi.status,
    "DELETE": LocalApi.cancel,
}
"""Method -> handler of ``/tasks/{id}``: the whole routing table."""


def _rule(table: edge.ErrorTable, exc: Exception) -> edge.ErrorRule:
    """The deployed API's answer to a service error: by its code when the service
    answered, as a 5xx when it could not be reached at all."""
    if not isinstance(exc, ClientError):
        return table.server_error
    error = exc.response.get("Error", {})
    http_status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", HTTPStatus.BAD_REQUEST)
    return table.answer(error.get("Code"), http_status)


def _refusal(rule: edge.ErrorRule, request_id: str) -> Answer:
    headers = {} if rule.retry_after is None else {"Retry-After": str(rule.retry_after)}
    return Answer(rule.status, edge.error_body(rule.message, request_id), headers)


def _error(status: int, message: str, request_id: str | None = None) -> Answer:
    return Answer(status, edge.error_body(message, request_id or str(uuid.uuid4())))


# ---------------------------------------------------------------------- HTTP plumbing


class _IncompleteBodyError(Exception):
    """The body did not arrive whole (the client went away, or took too long)."""


def _asgi_app(api: LocalApi) -> Any:
    """One catch-all starlette route: bodies read with limits, then :meth:`LocalApi.answer`."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.routing import Route

    async def endpoint(request: Request) -> Response:
        if request.scope.get("http_version") not in HTTP_VERSIONS:  # h11 takes any digit.digit
            return _json(_error(HTTPStatus.BAD_REQUEST, MALFORMED), close=True)
        declared = request.headers.get("content-length")
        if declared is not None and int(declared) > MAX_MESSAGE_BYTES:  # h11 checked it is a number
            return _json(_refusal(TOO_LARGE, str(uuid.uuid4())), close=True)
        try:
            body = await _read_body(request, api.body_timeout)
        except _IncompleteBodyError:
            return _json(_error(HTTPStatus.BAD_REQUEST, INCOMPLETE), close=True)
        if body is None:
            return _json(_refusal(TOO_LARGE, str(uuid.uuid4())), close=True)
        path = (request.scope.get("raw_path") or request.scope["path"].encode()).decode("latin-1")
        answer = await run_in_threadpool(api.answer, request.method, path, request.headers, body)
        return _json(answer)

    methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
    return Starlette(routes=[Route("/{path:path}", endpoint, methods=methods)])


async def _read_body(request: Request, timeout: float) -> bytes | None:
    """The whole body, or ``None`` once it exceeds the queue's limit; raises
    :class:`_IncompleteBodyError` when the client disconnects or stalls past ``timeout``."""
    from starlette.requests import ClientDisconnect

    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_MESSAGE_BYTES:
                    return None
                chunks.append(chunk)
    except (ClientDisconnect, TimeoutError) as exc:
        raise _IncompleteBodyError from exc
    return b"".join(chunks)


def _json(answer: Answer, *, close: bool = False) -> Response:
    from starlette.responses import Response

    headers = {**answer.headers, **({"connection": "close"} if close else {})}
    return Response(
        json.dumps(answer.body), status_code=answer.status, media_type="application/json", headers=headers
    )


def _json_errors_protocol() -> type[Any]:
    """uvicorn's h11 protocol, answering requests it cannot parse with the API's JSON 400."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class JsonErrorsProtocol(H11Protocol):
        def send_400_response(self, msg: str) -> None:
            data = json.dumps(_error(HTTPStatus.BAD_REQUEST, MALFORMED).body).encode()
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                (b"connection", b"close"),
            ]
            for event in (
                h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
                h11.Data(data=data),
                h11.EndOfMessage(),
            ):
                self.transport.write(self.conn.send(event))
            self.transport.close()

    return JsonErrorsProtocol

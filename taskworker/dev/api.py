"""The local HTTP API: the deployed API Gateway's paths, bodies and status codes.

``POST /tasks/{task_type}`` validates the JSON body against the task's input model (the
deployed API validates against the same JSON Schema at the edge) and sends it to the queue
with the ``task_type`` attribute, and ``idempotency_key`` from an ``Idempotency-Key``
header; it answers 202 ``{"task_id": ...}``. ``GET /tasks/{task_id}`` returns the status
record. Client code written against this moves to AWS unchanged.

What a request gets is decided in one place, :meth:`LocalApi.answer` (a table of routes
and plain functions of method, path, headers and body), so it can be kept in line with
the deployed API. The HTTP side is uvicorn (h11) and starlette, from the ``dev`` extra:
a malformed request (a bad ``Content-Length``, an unknown HTTP version) gets a JSON 400, a
body is read only up to the queue's size limit and within ``body_timeout`` seconds, and a
request whose body did not arrive whole enqueues nothing.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from taskworker.dev.ports import LOCALHOST, ensure_free
from taskworker.errors import validation_summary
from taskworker.messages import MAX_MESSAGE_BYTES, message_size, send_attributes

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from taskworker.app import TaskApp

TASK_PATH = re.compile(r"^/tasks/([^/]+)$")
IDEMPOTENCY_HEADER = "idempotency-key"
CORRELATION_HEADER = "x-correlation-id"
CONTENT_TYPE_HEADER = "content-type"
# The deployed API's error messages (infra/taskworker_infra/api.py), word for word.
INVALID_BODY = "the request body does not match the task input schema"
WRONG_MEDIA_TYPE = "send the task payload as application/json"
TOO_LARGE = "the task payload is larger than the queue accepts (256 KiB)"
QUEUE_UNAVAILABLE = "the task queue is unavailable, retry later"
STATUS_UNAVAILABLE = "the status store is unavailable, retry later"
# The dev server's own, for what API Gateway's front door refuses before any route runs.
MALFORMED = "malformed HTTP request"
INCOMPLETE = "the request body did not arrive whole"
NOT_UTF8 = "[(body): not valid UTF-8]"
BODY_TIMEOUT_SECONDS = 10.0
HTTP_VERSIONS = ("1.0", "1.1")

Answer = tuple[int, Any]
"""(HTTP status, JSON body)."""


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
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        port = self._server.servers[0].sockets[0].getsockname()[1]
        return f"http://{LOCALHOST}:{port}"

    def start(self) -> str:
        import uvicorn

        ensure_free(self.port, "local API", "--port")
        config = uvicorn.Config(
            _asgi_app(self),
            host=LOCALHOST,
            port=self.port,
            http=_json_errors_protocol(),
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_keep_alive=5,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="local-api", daemon=True)
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the local API did not start")
            self._thread.join(0.01)
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(10)
            self._server = None

    # ------------------------------------------------------------------ request -> answer

    def answer(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Answer:
        """What the API answers to a request that arrived whole; headers in any case."""
        match = TASK_PATH.match(path)
        route = _ROUTES.get(method) if match else None
        if match is None or route is None:
            return HTTPStatus.NOT_FOUND, {"message": "Not Found"}
        return route(self, match.group(1), {k.lower(): v for k, v in headers.items()}, body)

    def submit(self, task_type: str, headers: Mapping[str, str], body: bytes) -> Answer:
        """POST /tasks/{task_type}: validate and enqueue (``headers`` keys in lower case)."""
        request_id = str(uuid.uuid4())
        task = self.app.registry.get(task_type)
        if task is None:
            return HTTPStatus.NOT_FOUND, _error(f"unknown task type '{task_type}'", request_id)
        if headers.get(CONTENT_TYPE_HEADER, "").split(";")[0].strip().lower() != "application/json":
            return HTTPStatus.UNSUPPORTED_MEDIA_TYPE, _error(WRONG_MEDIA_TYPE, request_id)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return HTTPStatus.BAD_REQUEST, {**_error(INVALID_BODY, request_id), "errors": NOT_UTF8}
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
        try:
            response = self.sqs.send_message(
                QueueUrl=self.queue_url,
                MessageBody=text,
                MessageAttributes={
                    k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()
                },
            )
        except Exception:
            return HTTPStatus.SERVICE_UNAVAILABLE, _error(QUEUE_UNAVAILABLE, request_id)
        return HTTPStatus.ACCEPTED, {"task_id": response["MessageId"]}

    def status(self, task_id: str, headers: Mapping[str, str], body: bytes) -> Answer:
        """GET /tasks/{task_id}: the status record."""
        try:
            status = self.app.get_status(task_id)
        except Exception:
            return HTTPStatus.SERVICE_UNAVAILABLE, _error(STATUS_UNAVAILABLE)
        if status is None:
            return HTTPStatus.NOT_FOUND, {"message": "task not found"}
        return HTTPStatus.OK, status.as_api_json()


_ROUTES: dict[str, Callable[[LocalApi, str, Mapping[str, str], bytes], Answer]] = {
    "POST": LocalApi.submit,
    "GET": LocalApi.status,
}
"""Method -> handler of ``/tasks/{id}``: the whole routing table."""


def _error(message: str, request_id: str | None = None) -> dict[str, str]:
    return {"message": message, "request_id": request_id or str(uuid.uuid4())}


def _errors(exc: ValidationError) -> str:
    """One string, like API Gateway's ``$context.error.validationErrorString``."""
    return f"[{validation_summary(exc)}]"


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
            return _json(HTTPStatus.BAD_REQUEST, _error(MALFORMED), close=True)
        declared = request.headers.get("content-length")
        if declared is not None and int(declared) > MAX_MESSAGE_BYTES:  # h11 checked it is a number
            return _json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, _error(TOO_LARGE), close=True)
        try:
            body = await _read_body(request, api.body_timeout)
        except _IncompleteBodyError:
            return _json(HTTPStatus.BAD_REQUEST, _error(INCOMPLETE), close=True)
        if body is None:
            return _json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, _error(TOO_LARGE), close=True)
        status, answer = await run_in_threadpool(
            api.answer, request.method, request.url.path, request.headers, body
        )
        return _json(status, answer)

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


def _json(status: int, body: Any, *, close: bool = False) -> Response:
    from starlette.responses import Response

    headers = {"connection": "close"} if close else None
    return Response(json.dumps(body), status_code=status, media_type="application/json", headers=headers)


def _json_errors_protocol() -> type[Any]:
    """uvicorn's h11 protocol, answering requests it cannot parse with the API's JSON 400."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class JsonErrorsProtocol(H11Protocol):
        def send_400_response(self, msg: str) -> None:
            data = json.dumps(_error(MALFORMED)).encode()
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

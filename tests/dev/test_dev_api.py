"""The dev API on its HTTP server: malformed requests get a JSON 4xx and enqueue nothing.

Requests are written byte for byte on a socket, so the server sees exactly what a broken
or impatient client sends; the queue is the library's FakeSQS.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from taskworker import edge
from taskworker.dev.api import INCOMPLETE, MALFORMED, TOO_LARGE, LocalApi
from taskworker.messages import MAX_MESSAGE_BYTES
from taskworker.testing import FakeSQS
from tests.dev import dev_app

BODY = b'{"text": "hello"}'


@pytest.fixture
def sqs() -> FakeSQS:
    return FakeSQS()


@pytest.fixture
def api(sqs: FakeSQS) -> Iterator[LocalApi]:
    url = sqs.create_queue(QueueName="dev-api")["QueueUrl"]
    local = LocalApi(dev_app.app, sqs, url, port=0, body_timeout=0.5)
    local.start()
    try:
        yield local
    finally:
        local.stop()


def exchange(api: LocalApi, request: bytes, *, half_close: bool = False) -> tuple[int, dict[str, str], Any]:
    """Send raw bytes; returns (status, headers, JSON body) of the answer."""
    host, port = api.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as conn:
        conn.sendall(request)
        if half_close:
            conn.shutdown(socket.SHUT_WR)
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}
    assert status_line.startswith("HTTP/1."), status_line
    return int(status_line.split()[1]), headers, json.loads(body) if body else None


def _length(data: bytes) -> int:
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 1 << 30


def post(body: bytes, *, length: str | None = None, version: str = "HTTP/1.1", **headers: str) -> bytes:
    fields = {"Host": "localhost", "Content-Type": "application/json", "Connection": "close", **headers}
    fields["Content-Length"] = length if length is not None else str(len(body))
    head = "".join(f"{name}: {value}\r\n" for name, value in fields.items())
    return f"POST /tasks/echo.run {version}\r\n{head}\r\n".encode() + body


def queued(sqs: FakeSQS, api: LocalApi) -> list[dict[str, Any]]:
    response = sqs.receive_message(
        QueueUrl=api.queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )
    return list(response.get("Messages", []))


def assert_error(answer: tuple[int, dict[str, str], Any], status: int, message: str) -> None:
    code, headers, body = answer
    assert code == status
    assert headers["content-type"] == "application/json"
    assert body["message"] == message
    assert body["request_id"]


def test_a_whole_valid_request_is_enqueued(api: LocalApi, sqs: FakeSQS) -> None:
    code, _, body = exchange(api, post(BODY))

    assert code == 202
    [message] = queued(sqs, api)
    assert message["MessageId"] == body["task_id"]
    assert json.loads(message["Body"]) == {"text": "hello"}


@pytest.mark.parametrize("length", ["abc", "-5", "1.5", "10, 12"])
def test_a_content_length_that_is_not_a_number_is_a_json_400(
    api: LocalApi, sqs: FakeSQS, length: str
) -> None:
    assert_error(exchange(api, post(BODY, length=length)), 400, MALFORMED)
    assert queued(sqs, api) == []


def test_an_unknown_http_version_is_a_json_400_with_a_status_line(api: LocalApi, sqs: FakeSQS) -> None:
    assert_error(exchange(api, post(BODY, version="HTTP/9.9")), 400, MALFORMED)
    assert queued(sqs, api) == []


def test_a_too_large_content_length_is_refused_without_reading_the_body(api: LocalApi, sqs: FakeSQS) -> None:
    assert_error(exchange(api, post(b"", length=str(10**9))), 400, TOO_LARGE.message)
    assert queued(sqs, api) == []


def test_a_chunked_body_over_the_limit_is_refused(api: LocalApi, sqs: FakeSQS) -> None:
    chunk = b"x" * 65536
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(5)) + b"0\r\n\r\n"
    head = post(b"", **{"Transfer-Encoding": "chunked"}).replace(b"Content-Length: 0\r\n", b"")

    assert_error(exchange(api, head + chunks), 400, TOO_LARGE.message)
    assert queued(sqs, api) == []


def test_a_body_that_fits_only_without_its_attributes_is_refused_as_sqs_would(
    api: LocalApi, sqs: FakeSQS
) -> None:
    """The deployed API passes such a body on and SQS refuses it (400, InvalidParameterValue)."""
    text = b'{"text": "a", "pad": "' + b"x" * (MAX_MESSAGE_BYTES - 24) + b'"}'
    assert len(text) <= MAX_MESSAGE_BYTES

    assert_error(exchange(api, post(text)), 400, TOO_LARGE.message)
    assert queued(sqs, api) == []


def test_a_body_that_stalls_is_answered_and_not_enqueued(api: LocalApi, sqs: FakeSQS) -> None:
    # the whole JSON arrives, but less than the declared length: the request is not whole
    assert_error(exchange(api, post(BODY, length=str(len(BODY) + 10))), 400, INCOMPLETE)
    assert queued(sqs, api) == []


def test_a_client_that_gives_up_mid_body_enqueues_nothing(api: LocalApi, sqs: FakeSQS) -> None:
    host, port = api.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as conn:
        conn.sendall(post(BODY, length=str(len(BODY) + 10)))  # valid JSON, but not all of it
    exchange(api, post(b'{"text": "after"}'))  # the server is still fine

    assert [json.loads(m["Body"]) for m in queued(sqs, api)] == [{"text": "after"}]


def test_a_body_that_is_not_utf8_is_a_400(api: LocalApi, sqs: FakeSQS) -> None:
    answer = exchange(api, post(b'{"text": "caf\xe9"}'))

    assert_error(answer, 400, edge.INVALID_BODY)
    assert set(answer[2]) == {"message", "request_id"}  # no detail: it could echo the payload
    assert queued(sqs, api) == []


def test_headers_are_matched_in_any_case(api: LocalApi, sqs: FakeSQS) -> None:
    request = post(BODY, **{"IDEMPOTENCY-KEY": "k-1", "x-CORRELATION-id": "c-1"}).replace(
        b"Content-Type: application/json", b"content-TYPE: application/json"
    )

    assert exchange(api, request)[0] == 202
    [message] = queued(sqs, api)
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert (attributes["idempotency_key"], attributes["correlation_id"]) == ("k-1", "c-1")


def test_every_task_names_the_local_caller(api: LocalApi, sqs: FakeSQS) -> None:
    """As the deployed API names the authenticated principal, so keys are scoped alike."""
    exchange(api, post(BODY))

    [message] = queued(sqs, api)
    assert message["MessageAttributes"]["caller"]["StringValue"] == edge.LOCAL_CALLER


def test_unknown_paths_and_methods_are_404(api: LocalApi, sqs: FakeSQS) -> None:
    assert exchange(api, post(BODY).replace(b"/tasks/echo.run", b"/nowhere"))[0] == 404
    assert exchange(api, post(BODY).replace(b"POST ", b"PUT "))[0] == 404
    assert queued(sqs, api) == []


def test_an_unreachable_queue_is_a_503_with_the_deployed_apis_body(api: LocalApi, sqs: FakeSQS) -> None:
    sqs.fail_next("SendMessage")

    answer = exchange(api, post(BODY))

    assert_error(answer, 503, edge.ENQUEUE_ERRORS.server_error.message)
    assert answer[1]["retry-after"] == str(edge.RETRY_AFTER_SECONDS)
    assert exchange(api, post(BODY))[0] == 202  # and the next one goes through

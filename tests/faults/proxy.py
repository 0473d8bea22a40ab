"""A fault-injecting HTTP proxy between boto3 and the test endpoint (moto's server).

Point a client at :attr:`FaultProxy.url` (``endpoint_url=`` or ``AWS_ENDPOINT_URL``) and
every request is forwarded to the real endpoint, except those a :class:`Fault` selects by
service and operation, which it answers with one of:

- ``"error"``: HTTP 500 with an ``InternalFailure`` body, as AWS does when it is unwell;
- ``"reset"``: the connection is reset before anything is forwarded;
- ``"drop"``: the request is forwarded (so it takes effect), then the connection is reset
  instead of answering: the caller never learns that it succeeded.

The service comes from the request's SigV4 credential scope (``.../us-east-1/sqs/...``),
the operation from ``X-Amz-Target`` (DynamoDB, and SQS, whose boto3 speaks JSON) or the
``Action=`` form field (SNS's query protocol). Loopback only; request bodies, upstream
waits and the number of connections served at once are bounded.
"""

from __future__ import annotations

import http.client
import re
import socket
import struct
import threading
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

FaultKind = Literal["error", "reset", "drop"]
MAX_BODY = 4 * 1024 * 1024
UPSTREAM_TIMEOUT = 30.0
MAX_CONNECTIONS = 64
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-connection"}


@dataclass
class Fault:
    """Answer ``times`` requests (``None``: all) of ``service``/``operation`` (``"*"``: any)
    with ``kind``; with ``body_contains``, only requests whose body holds that text (a
    table's name)."""

    service: str
    operation: str
    kind: FaultKind
    times: int | None = None
    body_contains: str | None = None
    hits: int = 0

    def takes(self, service: str, operation: str, body: bytes) -> bool:
        if service != self.service or self.operation not in ("*", operation):
            return False
        if self.body_contains is not None and self.body_contains.encode() not in body:
            return False
        return self.times is None or self.hits < self.times


@dataclass
class FaultProxy:
    """The proxy; start it, add faults, read what it saw in :attr:`calls`."""

    upstream: str
    faults: list[Fault] = field(default_factory=list)
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    injected: Counter[tuple[str, str, str]] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._server: ThreadingHTTPServer | None = None
        parsed = urllib.parse.urlsplit(self.upstream)
        self._upstream = (parsed.hostname or "127.0.0.1", parsed.port or 80)

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> str:
        self._server = _Server(("127.0.0.1", 0), _handler(self), self._slots)
        threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True).start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def inject(
        self,
        service: str,
        operation: str,
        kind: FaultKind,
        times: int | None = None,
        *,
        body_contains: str | None = None,
    ) -> Fault:
        fault = Fault(service, operation, kind, times, body_contains)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()

    def decide(self, service: str, operation: str, body: bytes) -> FaultKind | None:
        """Count the call and pick the fault it meets, if any (each fault counts its hits)."""
        with self._lock:
            self.calls[service, operation] += 1
            for fault in self.faults:
                if fault.takes(service, operation, body):
                    fault.hits += 1
                    self.injected[service, operation, fault.kind] += 1
                    return fault.kind
        return None

    def forward(
        self, method: str, path: str, headers: list[tuple[str, str]], body: bytes
    ) -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection(*self._upstream, timeout=UPSTREAM_TIMEOUT)
        connection.request(method, path, body=body, headers=dict(headers))
        response = connection.getresponse()
        response.body = response.read()  # type: ignore[attr-defined]
        connection.close()
        return response


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        slots: threading.BoundedSemaphore,
    ):
        super().__init__(address, handler)
        self._slots = slots

    def process_request(self, request, client_address):  # type: ignore[no-untyped-def]
        self._slots.acquire()  # bounded: at most MAX_CONNECTIONS threads at once
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address):  # type: ignore[no-untyped-def]
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = UPSTREAM_TIMEOUT

        def do_POST(self) -> None:
            self._serve()

        def do_GET(self) -> None:
            self._serve()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 <= length <= MAX_BODY:
                self._reset()
                return
            body = self.rfile.read(length)
            service, operation = _classify(
                self.headers.get("Authorization", ""), self.headers.get("X-Amz-Target"), body
            )
            kind = proxy.decide(service, operation, body)
            if kind == "reset":
                self._reset()
                return
            if kind == "error":
                self._answer(500, [("Content-Type", "application/x-amz-json-1.0")], _ERROR_BODY)
                return
            headers = [(k, v) for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP]
            response = proxy.forward(self.command, self.path, headers, body)
            if kind == "drop":
                self._reset()
                return
            kept = [
                (k, v) for k, v in response.getheaders() if k.lower() not in {*_HOP_BY_HOP, "content-length"}
            ]
            self._answer(response.status, kept, response.body)  # type: ignore[attr-defined]

        def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _reset(self) -> None:
            """Close with SO_LINGER 0: the peer sees a connection reset, not a clean close."""
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    return Handler


_ERROR_BODY = b'{"__type": "InternalFailure", "message": "injected by the fault proxy"}'


def _classify(authorization: str, target: str | None, body: bytes) -> tuple[str, str]:
    """(service, operation) of one AWS request."""
    scope = _SCOPE.search(authorization)
    service = scope.group(1) if scope else "unknown"
    if target:
        return service, target.rsplit(".", 1)[-1]
    action = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("Action", ["unknown"])[0]
    return service, action

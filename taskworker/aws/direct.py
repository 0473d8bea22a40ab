"""The worker's two hot SQS calls, sent without botocore's request pipeline.

On trivial tasks a consumer's CPU is nearly all botocore: for every request it validates
and serializes the parameters, resolves the endpoint, emits a dozen events, signs, sends,
and walks the output shape to parse the answer. For ``ReceiveMessage`` and
``DeleteMessageBatch``, whose parameters the worker builds itself and whose answers are
plain JSON, everything but signing and sending can be skipped: measured on a local SQS,
2.5 times fewer Python calls per request (``benchmarks/worker_fauxqs.py``).

What is kept from the client: its endpoint, region, credentials (and their refresh), its
signer, and its HTTP session (connection pool, TLS verification, proxies, timeouts). What
is not: botocore's retries and its error parsing. So an answer other than 200, or a
request that did not get through, is sent once more *through the client*, which then
retries and raises its usual exceptions. Both operations are safe to repeat after a
failure, as botocore's own retries already assume: a failed receive delivered nothing,
and deleting a message twice is harmless.

Used only where it changes nothing else: a plain botocore SQS client that speaks the JSON
protocol, with SigV4, and no event handlers or instrumentation of its own on these two
operations (botocore's ``Stubber``, a tracer that wraps botocore, a user's hooks; moto's
stubber and powertools' user-agent tag are known and allowed, see ``SKIPPABLE``).
Anything else (the testing kit's fakes included) is used as it is.
"""

from __future__ import annotations

import base64
import json
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

HOT_OPERATIONS = ("ReceiveMessage", "DeleteMessageBatch")
"""The calls sent directly: a worker makes one of each per ten tasks."""

HOOKED_EVENTS = (
    "provide-client-params",
    "before-parameter-build",
    "before-call",
    "request-created",
    "before-send",
    "after-call",
    "needs-retry",
)
"""The per-request events a direct call does not emit (the signer still emits its own)."""

MOTO_STUBBER = "moto.core.botocore_stubber"
"""Importing moto (running its server in-process does) registers its stubber on every
client made afterwards; it intercepts requests only while a ``mock_aws`` is active (its
``enabled`` flag). A direct call looks at that flag each time and leaves a mocked call to
the client, so the mock still answers it."""


POWERTOOLS_USER_AGENT = "aws_lambda_powertools.shared.user_agent"
"""Importing one of powertools' utilities (batch, idempotency, parameters...) adds a
handler to every boto3 client that appends ``PT/<feature>`` to its user-agent."""

SKIPPABLE = (
    "botocore.handlers",
    "botocore.retries.",
    "botocore.signers",
    "botocore.useragent",
    POWERTOOLS_USER_AGENT,
    MOTO_STUBBER,
)
"""Modules whose handlers on those events a direct call may skip: what botocore registers
itself (idempotency tokens, the API-version header, retry quotas and headers, the
user-agent) and powertools' user-agent tag, which change nothing these two operations
do; and moto's stubber, which is looked at on every call instead."""


def direct_sqs(client: Any) -> tuple[Any, str | None]:
    """The client to consume with, and why it is not direct (``None`` when it is)."""
    reason = _not_direct(client)
    if reason:
        return client, reason
    return DirectSQS(client, mocks=_handlers(client, MOTO_STUBBER)), None


def _not_direct(client: Any) -> str | None:
    try:
        from botocore.client import BaseClient
    except ImportError:  # pragma: no cover - boto3 is a core dependency
        return "botocore is not installed"
    if not isinstance(client, BaseClient):
        return f"{type(client).__name__} is not a botocore client"
    model = client.meta.service_model
    if model.service_name != "sqs" or model.protocol != "json":
        return f"the client speaks {model.service_name}/{model.protocol}, not sqs/json"
    signature: Any = getattr(client.meta.config, "signature_version", None)
    if signature not in (None, "v4"):
        return f"the client signs with {signature}, not SigV4"
    if _is_wrapped(BaseClient.__dict__.get("_make_api_call")):
        return "botocore is instrumented (a tracer wraps BaseClient._make_api_call)"
    if getattr(client, "_request_signer", None) is None or getattr(client, "_endpoint", None) is None:
        return "this botocore version has no request signer or endpoint to reuse"
    foreign = {_name(handler) for handler in _handlers(client) if not _module(handler).startswith(SKIPPABLE)}
    if foreign:
        return f"the client has event handlers of its own: {', '.join(sorted(foreign))}"
    return None


def _is_wrapped(method: Any) -> bool:
    """Whether a tracer replaced the method: tracers (OpenTelemetry, X-Ray, Datadog) wrap it
    in a proxy object, where botocore's own decorator leaves a plain function."""
    return type(method) is not types.FunctionType


def _handlers(client: Any, module: str = "") -> list[Any]:
    """The handlers (from ``module``, or all) on the events a direct call does not emit."""
    emitter = getattr(client.meta.events, "_emitter", client.meta.events)
    registered = getattr(emitter, "_handlers", None)
    if registered is None:  # an event system that cannot be inspected: assume the worst
        return [emitter]
    found: list[Any] = []
    for operation in HOT_OPERATIONS:
        for event in HOOKED_EVENTS:
            for handler in registered.prefix_search(f"{event}.sqs.{operation}"):
                if _module(handler).startswith(module) and not any(handler is seen for seen in found):
                    found.append(handler)
    return found


def _module(handler: Any) -> str:
    return str(getattr(handler, "__module__", "") or "")


def _name(handler: Any) -> str:
    return f"{_module(handler)}.{getattr(handler, '__qualname__', type(handler).__qualname__)}"


class DirectSQS:
    """An SQS client whose ``receive_message`` and ``delete_message_batch`` go straight to
    the endpoint (see the module docstring); every other attribute is the client's own."""

    def __init__(self, client: Any, *, mocks: Sequence[Any] = ()) -> None:
        self.client = client
        self._mocks = tuple(mocks)
        self._url = client.meta.endpoint_url.rstrip("/") + "/"
        self._signer = client._request_signer
        self._session = client._endpoint.http_session
        creator = getattr(client, "_user_agent_creator", None)
        self._user_agent = creator.to_string() if creator is not None else "Botocore"

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def receive_message(self, **params: Any) -> dict[str, Any]:
        response = self._call("ReceiveMessage", params, self.client.receive_message)
        for message in response.get("Messages", ()):
            _decode_binary_attributes(message)
        return response

    def delete_message_batch(self, **params: Any) -> dict[str, Any]:
        return self._call("DeleteMessageBatch", params, self.client.delete_message_batch)

    def _call(
        self, operation: str, params: Mapping[str, Any], fallback: Callable[..., Any]
    ) -> dict[str, Any]:
        from botocore.awsrequest import AWSRequest

        if any(getattr(mock, "enabled", True) for mock in self._mocks):  # a mock answers this one
            return cast(dict[str, Any], fallback(**params))
        body = json.dumps(params)
        request = AWSRequest(
            "POST",
            self._url,
            data=body.encode(),
            headers={
                "X-Amz-Target": f"AmazonSQS.{operation}",
                "Content-Type": "application/x-amz-json-1.0",
                "x-amzn-query-mode": "true",
                "User-Agent": self._user_agent,
            },
        )
        try:
            self._signer.sign(operation, request)
            answer = self._session.send(request.prepare())
            parsed = json.loads(answer.content) if answer.status_code == 200 else None
        except Exception:  # not sent, no answer, or an answer that is not SQS's JSON
            parsed = None
        if not isinstance(parsed, dict):  # the client tries again its own way
            return cast(dict[str, Any], fallback(**params))
        parsed["ResponseMetadata"] = {
            "RequestId": answer.headers.get("x-amzn-RequestId", ""),
            "HTTPStatusCode": 200,
            "HTTPHeaders": dict(answer.headers),
            "RetryAttempts": 0,
        }
        return parsed


def _decode_binary_attributes(message: dict[str, Any]) -> None:
    """Blobs arrive base64-encoded in JSON; botocore hands them over as bytes, so do we."""
    for value in (message.get("MessageAttributes") or {}).values():
        if "BinaryValue" in value:
            value["BinaryValue"] = base64.b64decode(value["BinaryValue"])
        if "BinaryListValues" in value:
            value["BinaryListValues"] = [base64.b64decode(item) for item in value["BinaryListValues"]]

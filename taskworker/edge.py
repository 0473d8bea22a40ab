"""The API's request -> answer rules, shared by the deployed API and ``taskworker dev``.

The deployed API renders these rules into API Gateway mapping templates
(``infra/taskworker_infra/templates.py``); the local API calls them directly. Keeping the
header names, messages and error-code tables here is what makes the two answer alike; the
table of requests and answers both are tested against is ``tests/infra/api_cases.py``.
Pure and dependency-free on purpose: the local API imports it on every request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "CANCEL_ERRORS",
    "CORRELATION_HEADER",
    "ENQUEUE_ERRORS",
    "IDEMPOTENCY_HEADER",
    "INVALID_BODY",
    "INVALID_TASK_ID",
    "JSON_CONTENT_TYPES",
    "JSON_MEDIA_TYPE",
    "LOCAL_CALLER",
    "RETRY_AFTER_SECONDS",
    "STATUS_ERRORS",
    "TASK_FINISHED",
    "TASK_NOT_FOUND",
    "WRONG_MEDIA_TYPE",
    "ErrorRule",
    "ErrorTable",
    "accepts_json",
    "error_body",
    "header",
    "unknown_task",
]

IDEMPOTENCY_HEADER = "Idempotency-Key"
CORRELATION_HEADER = "X-Correlation-Id"
JSON_MEDIA_TYPE = "application/json"
JSON_CONTENT_TYPES = (
    JSON_MEDIA_TYPE,
    "application/json; charset=utf-8",
    "application/json;charset=utf-8",
    "application/json; charset=UTF-8",
    "application/json;charset=UTF-8",
)
"""The Content-Type spellings the API accepts. API Gateway selects a mapping template by
the header as sent, so each spelling JSON clients use (OkHttp, Java and .NET add a charset)
is mapped explicitly; anything else is answered 415."""
LOCAL_CALLER = "local"
"""The ``caller`` of every task ``taskworker dev``'s API enqueues: the local API has no
authentication, and one fixed name keeps idempotency keys scoped as in AWS (task type +
caller + key) without a header a deployed client would never send."""
RETRY_AFTER_SECONDS = 1
"""Sent as ``Retry-After`` with every 503: throttling and outages clear within seconds."""

INVALID_BODY = "the request body does not match the task input schema"
WRONG_MEDIA_TYPE = "send the task payload as application/json"
TASK_NOT_FOUND = "task not found"
TASK_FINISHED = "the task already finished; nothing to cancel"
INVALID_TASK_ID = "the task id is not valid (no task can have it)"


def unknown_task(task_type: str) -> str:
    """404 message for a POST to a task type that is not registered."""
    return f"unknown task type '{task_type}'"


def error_body(message: str, request_id: str) -> dict[str, str]:
    """Every error answer: what went wrong and the request id a caller quotes to an operator."""
    return {"message": message, "request_id": request_id}


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value by name ignoring case (HTTP names are case-insensitive; HTTP/2
    clients send lowercase), or ``None`` when absent or empty."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted and value:
            return value
    return None


def accepts_json(content_type: str | None) -> bool:
    """Whether the API takes a body sent with this Content-Type: absent (API Gateway then
    assumes JSON) or one of :data:`JSON_CONTENT_TYPES`, the keys the deployed API maps."""
    return not content_type or content_type.strip() in JSON_CONTENT_TYPES


@dataclass(frozen=True)
class ErrorRule:
    """How one family of AWS error codes is answered."""

    status: int
    message: str
    codes: tuple[str, ...] = ()

    @property
    def retry_after(self) -> int | None:
        return RETRY_AFTER_SECONDS if self.status == 503 else None


@dataclass(frozen=True)
class ErrorTable:
    """An integration's error answers, chosen by the service's error code, not its status.

    AWS services report caller faults, throttling and their own misconfiguration alike as
    HTTP 400, so the status says little: the code decides. An unknown 4xx code is taken
    for an operator fault (the API built the request, so a refusal is ours); any 5xx means
    the service is unavailable.
    """

    rules: tuple[ErrorRule, ...]
    unknown_4xx: ErrorRule
    server_error: ErrorRule

    def answer(self, code: str | None, http_status: int) -> ErrorRule:
        if http_status >= 500:
            return self.server_error
        for rule in self.rules:
            if code in rule.codes:
                return rule
        return self.unknown_4xx


_OPERATOR = " (operator: check the deployment)"

ENQUEUE_ERRORS = ErrorTable(
    rules=(
        ErrorRule(
            503,
            "the task queue is throttling requests, retry later",
            (
                "RequestThrottled",
                "ThrottlingException",
                "AWS.SimpleQueueService.RequestThrottled",
                "KMS.ThrottlingException",
                "KmsThrottled",
            ),
        ),
        ErrorRule(
            400,
            "the queue refused the task payload (too large or with characters SQS rejects)",
            (
                "InvalidMessageContents",
                "InvalidParameterValue",
                "InvalidAttributeValue",
                "InvalidParameterValueException",
            ),
        ),
        ErrorRule(
            500,
            "the task queue does not exist" + _OPERATOR,
            ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"),
        ),
        ErrorRule(
            500,
            "the API is not allowed to send to the task queue" + _OPERATOR,
            ("AccessDenied", "AccessDeniedException", "InvalidClientTokenId", "SignatureDoesNotMatch"),
        ),
        ErrorRule(
            500,
            "the task queue's encryption key is unusable" + _OPERATOR,
            (
                "KMS.DisabledException",
                "KMS.InvalidKeyUsageException",
                "KMS.InvalidStateException",
                "KMS.KeyUnavailableException",
                "KMS.AccessDeniedException",
                "KMS.NotFoundException",
                "KMS.OptInRequired",
                "KmsDisabled",
                "KmsInvalidKeyUsage",
                "KmsInvalidState",
                "KmsNotFound",
                "KmsOptInRequired",
                "KmsAccessDenied",
            ),
        ),
    ),
    unknown_4xx=ErrorRule(500, "the task could not be enqueued: the service is misconfigured" + _OPERATOR),
    server_error=ErrorRule(503, "the task queue is unavailable, retry later"),
)

STATUS_ERRORS = ErrorTable(
    rules=(
        ErrorRule(
            503,
            "the status store is throttling requests, retry later",
            ("ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"),
        ),
        ErrorRule(400, INVALID_TASK_ID, ("ValidationException",)),
        ErrorRule(
            500,
            "the status table does not exist" + _OPERATOR,
            ("ResourceNotFoundException",),
        ),
        ErrorRule(
            500,
            "the API is not allowed to read the status table" + _OPERATOR,
            ("AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException"),
        ),
    ),
    unknown_4xx=ErrorRule(500, "the task status could not be read: the service is misconfigured" + _OPERATOR),
    server_error=ErrorRule(503, "the status store is unavailable, retry later"),
)

CANCEL_ERRORS = ErrorTable(
    rules=(
        STATUS_ERRORS.rules[0],
        STATUS_ERRORS.rules[1],
        STATUS_ERRORS.rules[2],
        ErrorRule(
            500,
            "the API is not allowed to update the status table" + _OPERATOR,
            ("AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException"),
        ),
    ),
    unknown_4xx=ErrorRule(500, "the task could not be cancelled: the service is misconfigured" + _OPERATOR),
    server_error=STATUS_ERRORS.server_error,
)
"""``DELETE /tasks/{task_id}``'s answers to DynamoDB's errors: the status route's, except
that it writes. A refused condition is no error: it is answered 404 or 409 from the item."""

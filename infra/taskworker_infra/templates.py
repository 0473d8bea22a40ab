"""API Gateway mapping templates (VTL) between HTTP and the SQS / DynamoDB APIs.

Kept apart from the constructs so the wire contract is readable in one place and testable as
plain strings. The SQS request template is emitted on a single line: it becomes a form-encoded
body, and a stray newline from a VTL directive would end up inside a parameter value.
"""

from __future__ import annotations

import json
from urllib.parse import quote

__all__ = [
    "CORRELATION_HEADER",
    "IDEMPOTENCY_HEADER",
    "enqueue_request",
    "enqueue_response",
    "error_body",
    "status_request",
    "status_response",
]

IDEMPOTENCY_HEADER = "Idempotency-Key"
CORRELATION_HEADER = "X-Correlation-Id"


def _header(variable: str, name: str) -> str:
    """VTL setting ``$variable`` to a header, trying the canonical and the lowercase spelling
    (HTTP/2 clients send lowercase names and the header map is case-sensitive)."""
    return (
        f"#set(${variable} = $input.params().header.get('{name}'))"
        f'#if("$!{variable}" == "")#set(${variable} = $input.params().header.get(\'{name.lower()}\'))#end'
    )


def _attribute(index: int, name: str, value: str) -> str:
    prefix = f"&MessageAttribute.{index}"
    return f"{prefix}.Name={name}{prefix}.Value.DataType=String{prefix}.Value.StringValue={value}"


def enqueue_request(task_type: str) -> str:
    """SendMessage form: the body as posted, plus ``task_type``, ``correlation_id`` and (when
    the client sent ``Idempotency-Key``) ``idempotency_key`` message attributes."""
    return "".join(
        [
            _header("cid", CORRELATION_HEADER),
            '#if("$!cid" == "")#set($cid = $context.requestId)#end',
            _header("ikey", IDEMPOTENCY_HEADER),
            "Action=SendMessage&MessageBody=$util.urlEncode($input.body)",
            _attribute(1, "task_type", quote(task_type, safe="")),
            _attribute(2, "correlation_id", "$util.urlEncode($cid)"),
            '#if("$!ikey" != "")',
            _attribute(3, "idempotency_key", "$util.urlEncode($ikey)"),
            "#end",
        ]
    )


def enqueue_response() -> str:
    """202 body: the SQS MessageId (the task id) from SendMessage's JSON answer."""
    return (
        "#set($id = $input.path('$.SendMessageResponse.SendMessageResult.MessageId'))\n"
        '{"task_id": "$util.escapeJavaScript($id)"}'
    )


def error_body(message: str) -> str:
    """A JSON error body naming the request id, so a caller can quote it to an operator."""
    return json.dumps({"message": message, "request_id": "$context.requestId"})


def status_request(table_name: str) -> str:
    """GetItem on the status table, keyed by the ``task_id`` path parameter (consistent read,
    so a status written just before the GET is seen)."""
    key = _json_string("$input.params('task_id')")
    return (
        f'{{"TableName": {json.dumps(table_name)}, "ConsistentRead": true, '
        f'"Key": {{"task_id": {{"S": "{key}"}}}}}}'
    )


def _json_string(expression: str) -> str:
    """VTL for a JSON-escaped string; escapeJavaScript escapes ``'`` which JSON forbids."""
    return f'$util.escapeJavaScript({expression}).replaceAll("\\\\\'","\'")'


def _string_field(name: str, attribute: str) -> str:
    value = f"$item.{attribute}.S"
    return f'"{name}": #if("$!{value}" != "")"{_json_string(value)}"#{{else}}null#end'


def _optional(attribute: str, body: str) -> str:
    return f'#if("$!item.{attribute}.S" != ""), {body}#end'


def status_response() -> str:
    """The status JSON of the API (same shape as the local dev API), or 404."""
    result_field = '"result": $item.result.S'
    error_field = (
        '"error": {'
        + _string_field("type", "error_type")
        + ", "
        + _string_field("message", "error_message")
        + "}"
    )
    return "\n".join(
        [
            "#set($item = $input.path('$.Item'))",
            '#if("$!item.task_id.S" == "")',
            "#set($context.responseOverride.status = 404)",
            '{"message": "task not found"}',
            "#else",
            "{"
            + ", ".join(
                [
                    _string_field("task_id", "task_id"),
                    _string_field("task_type", "task_type"),
                    _string_field("status", "status"),
                    '"attempt": #if("$!item.attempt.N" != "")$item.attempt.N#{else}0#end',
                    _string_field("started_at", "started_at"),
                    _string_field("updated_at", "updated_at"),
                ]
            )
            + _optional("finished_at", _string_field("finished_at", "finished_at"))
            + _optional("result", result_field)
            + _optional("error_type", error_field)
            + "}",
            "#end",
        ]
    )

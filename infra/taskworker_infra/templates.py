"""API Gateway mapping templates (VTL) between HTTP and the SQS / DynamoDB APIs.

Kept apart from the constructs so the wire contract is readable in one place; the tests
render every template with a Velocity engine (``tests/infra/velocity.py``). The rules the
templates encode (header names, messages, error codes) come from ``taskworker.edge``, the
module the local dev API calls, so both APIs answer alike. The SQS request template is
emitted on a single line: it becomes a form-encoded body, and a stray newline from a VTL
directive would end up inside a parameter value.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from taskworker import edge, status
from taskworker.messages import CALLER, CORRELATION_ID, IDEMPOTENCY_KEY, TASK_TYPE

__all__ = [
    "CORRELATION_HEADER",
    "IDEMPOTENCY_HEADER",
    "cancel_error_response",
    "cancel_request",
    "cancel_response",
    "enqueue_request",
    "enqueue_response",
    "error_body",
    "error_response",
    "status_request",
    "status_response",
    "unknown_task_response",
]

IDEMPOTENCY_HEADER = edge.IDEMPOTENCY_HEADER
CORRELATION_HEADER = edge.CORRELATION_HEADER

_ASSUMED_ROLE_SESSION = r"'^(arn:[^:]+:sts::[0-9]+:assumed-role/[^/]+)/.*$'"


def _headers(**variables: str) -> str:
    """VTL setting each ``$variable`` to its header, matched ignoring case: API Gateway's
    header map is case-sensitive and clients spell names as they like (HTTP/2: lowercase)."""
    init = "".join(f"#set(${variable} = '')" for variable in variables)
    branches = "#else".join(
        f"#if($hn == '{name.lower()}')#set(${variable} = $input.params().header.get($h))"
        for variable, name in variables.items()
    )
    return (
        init + "#foreach($h in $input.params().header.keySet())#set($hn = $h.toLowerCase())"
        + branches + "#end" * len(variables) + "#end"
    )  # fmt: skip


def _caller(reference: str) -> str:
    """VTL setting ``$caller`` to the authenticated principal; an assumed role's session
    name is dropped, so one role is one caller however often its sessions rotate."""
    return (
        f"#set($caller = \"$!{reference}\")#set($caller = $caller.replaceAll({_ASSUMED_ROLE_SESSION}, '$1'))"
    )


def _attribute(index: str, name: str, value: str) -> str:
    prefix = f"&MessageAttribute.{index}"
    return f"{prefix}.Name={name}{prefix}.Value.DataType=String{prefix}.Value.StringValue={value}"


def _optional_attribute(variable: str, name: str) -> str:
    """The next attribute, numbered on, when ``$variable`` is not empty."""
    return (
        f"#if(${variable} != '')#set($n = $n + 1)"
        + _attribute("${n}", name, f"$util.urlEncode(${variable})")
        + "#end"
    )


def enqueue_request(
    task_type: str, caller_reference: str, *, fifo: bool = False, message_group: str | None = None
) -> str:
    """SendMessage form: the body as posted, plus ``task_type``, ``correlation_id`` (the
    ``X-Correlation-Id`` header, else the request id), ``caller`` (the principal named by
    ``caller_reference``, a ``$context`` path) and, when sent, ``idempotency_key``.

    On a FIFO queue (``fifo``) also the group and deduplication ids, as the client sends
    them (see :func:`_fifo_ids`)."""
    return "".join(
        [
            _headers(cid=CORRELATION_HEADER, ikey=IDEMPOTENCY_HEADER),
            "#if($cid == '')#set($cid = $context.requestId)#end",
            _caller(caller_reference),
            "#set($n = 2)",
            "Action=SendMessage&MessageBody=$util.urlEncode($input.body)",
            _fifo_ids(message_group or task_type) if fifo else "",
            _attribute("1", TASK_TYPE, quote(task_type, safe="")),
            _attribute("2", CORRELATION_ID, "$util.urlEncode($cid)"),
            _optional_attribute("caller", CALLER),
            _optional_attribute("ikey", IDEMPOTENCY_KEY),
        ]
    )


def _fifo_ids(group: str) -> str:
    """A FIFO queue's ``MessageGroupId`` (the task's ``message_group``, else its type: the
    client's default group) and
    ``MessageDeduplicationId``: the idempotency key (its first 128 characters, SQS's limit),
    else the request id, so a retried POST with its key is deduplicated by SQS itself."""
    return (
        f"&MessageGroupId={quote(group, safe='')}"
        "#if($ikey == '')#set($dedup = $context.requestId)#else#set($dedup = $ikey)#end"
        "#if($dedup.length() > 128)#set($dedup = $dedup.substring(0, 128))#end"
        "&MessageDeduplicationId=$util.urlEncode($dedup)"
    )


def enqueue_response() -> str:
    """202 body: the SQS MessageId (the task id) from SendMessage's JSON answer."""
    return (
        "#set($id = $input.path('$.SendMessageResponse.SendMessageResult.MessageId'))"
        '{"task_id": "' + _json_string("$id") + '"}'
    )


def error_body(message: str) -> str:
    """A JSON error body naming the request id, so a caller can quote it to an operator."""
    if any(char in message for char in "$#\\"):
        raise ValueError(f"error messages are VTL text and may not contain $, # or \\: {message!r}")
    return json.dumps(edge.error_body(message, "$context.requestId"))


def _answer(rule: edge.ErrorRule) -> str:
    retry = (
        f"#set($context.responseOverride.header.Retry-After = '{rule.retry_after}')"
        if rule.retry_after
        else ""
    )
    return f"#set($context.responseOverride.status = {rule.status}){retry}{error_body(rule.message)}"


def error_response(table: edge.ErrorTable, *, server_error: bool = False) -> str:
    """An integration's error answer chosen by the AWS error code in its body.

    Selection patterns only see the HTTP status, and SQS and DynamoDB answer throttling,
    caller faults and misconfiguration alike with 400; so one 4xx response reads the code
    (``Error.Code`` of SQS's query protocol, ``__type`` of JSON protocols) and overrides
    status, body and ``Retry-After`` from ``table``.
    """
    if server_error:
        return _answer(table.server_error)
    return _READ_CODE + _code_branches(table)


_READ_CODE = (
    "#set($body = $input.path('$'))"
    '#set($code = "$!body.Error.Code")'
    "#if($code == '')#set($code = \"$!body.ErrorResponse.Error.Code\")#end"
    "#if($code == '')#set($code = \"$!body.get('__type')\")#end"
    "#set($code = $code.replaceAll('^.*#', ''))"
)
"""VTL setting ``$body`` (the service's answer) and ``$code`` (its error code, in any of
the protocols' spellings)."""


def _code_branches(table: edge.ErrorTable) -> str:
    branches = [
        "#if(" + " || ".join(f"$code == '{code}'" for code in rule.codes) + ")" + _answer(rule)
        for rule in table.rules
    ]
    return "#else".join(branches) + "#else" + _answer(table.unknown_4xx) + "#end" * len(branches)


def unknown_task_response() -> str:
    """404 for a POST to an unregistered task type, the type JSON-escaped."""
    message = edge.unknown_task(_json_string("$input.params('task_id')"))
    return '{"message": "' + message + '", "request_id": "$context.requestId"}'


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


def _present(attribute: str, kind: str = "S") -> str:
    return f'"$!item.{attribute}.{kind}" != ""'


def _string_field(name: str, attribute: str, default: str = "") -> str:
    """``"name": "value"``, or the default ``TaskStatus.from_item`` uses when it is missing."""
    value = _json_string(f"$item.{attribute}.S")
    return f'"{name}": "#if({_present(attribute)}){value}#{{else}}{default}#end"'


def _optional(attribute: str, body: str, kind: str = "S") -> str:
    return f"#if({_present(attribute, kind)}), {body}#end"


def _progress_field() -> str:
    """``"progress": {"done", "total"?, "message"?, "updated_at"}`` from the ``progress_*``
    attributes, as :class:`taskworker.status.Progress` renders them."""
    return (
        '"progress": {"done": $item.progress_done.N'
        + _optional("progress_total", '"total": $item.progress_total.N', kind="N")
        + _optional("progress_msg", _string_field("message", "progress_msg"))
        + ", "
        + _string_field("updated_at", "progress_at")
        + "}"
    )


def status_response() -> str:
    """The item as ``TaskStatus.from_item(item).as_api_json()`` renders it (what the local
    dev API answers), or 404 when there is none."""
    error_field = (
        '"error": {"type": "'
        + _json_string("$item.error_type.S")
        + '", '
        + _string_field("message", "error_message")
        + "}"
    )
    fields = ", ".join(
        [
            _string_field("task_id", "task_id"),
            _string_field("task_type", "task_type"),
            _string_field("status", "status", "running"),
            f'"attempt": #if({_present("attempt", "N")})$item.attempt.N#{{else}}0#end',
            _string_field("started_at", "started_at"),
            _string_field("updated_at", "updated_at"),
        ]
    )
    return (
        "#set($item = $input.path('$.Item'))"
        f"#if(!({_present('task_id')}))"
        "#set($context.responseOverride.status = 404)"
        + error_body(edge.TASK_NOT_FOUND)
        + "#else{"
        + fields
        + _optional("finished_at", _string_field("finished_at", "finished_at"))
        + _optional("result", '"result": $item.result.S')
        + _optional("error_type", error_field)
        + _optional("correlation_id", _string_field("correlation_id", "correlation_id"))
        + _optional("progress_done", _progress_field(), kind="N")
        + _optional("cancel_requested_at", _string_field("cancel_requested_at", "cancel_requested_at"))
        + _optional("parent_task_id", _string_field("parent_task_id", "parent_task_id"))
        + _optional("scheduled_for", _string_field("scheduled_for", "scheduled_for"))
        + _optional("children", "\"children\": $input.json('$.Item.children.SS')", kind="SS")
        + "}#end"
    )


# ------------------------------------------------------------------ DELETE /tasks/{task_id}

_TASK_ID, _NOW, _CALLER = "@@task_id@@", "@@now@@", "@@caller@@"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _request_time() -> str:
    """VTL setting ``$now`` to the request time as the status table writes times
    (``2026-12-01T12:00:00.123Z``), from ``$context.requestTime``
    (``01/Dec/2026:12:00:00 +0000``) and the milliseconds of ``requestTimeEpoch``."""
    months = "".join(f".replace('-{name}-', '-{n:02d}-')" for n, name in enumerate(_MONTHS, start=1))
    return (
        '#set($now = "$context.requestTime")'
        "#set($now = $now.replaceAll('^([0-9]+)/([A-Za-z]+)/([0-9]+):([0-9:]+) .*$', '$3-$2-$1T$4')"
        + months
        + ")"
        + '#set($ms = "$context.requestTimeEpoch")'
        + "#set($ms = $ms.replaceAll('^.*([0-9][0-9][0-9])$', '$1'))"
        + '#set($now = "${now}.${ms}Z")'
    )


def cancel_request(table_name: str, caller_reference: str) -> str:
    """UpdateItem of ``status.cancel_request`` (the client's very request), keyed by the
    ``task_id`` path parameter and conditional on the caller (``caller_reference``) being
    the task's own, or the task naming none."""
    request = json.dumps(status.cancel_request(table_name, _TASK_ID, _NOW, _CALLER))
    return (
        _caller(caller_reference)
        + _request_time()
        + request.replace(_TASK_ID, _json_string("$input.params('task_id')"))
        .replace(_NOW, "$now")
        .replace(_CALLER, _json_string("$caller"))
    )


def cancel_response() -> str:
    """202 body: the task id and when cancellation was first asked for."""
    return (
        "#set($at = $input.path('$.Attributes.cancel_requested_at.S'))"
        '{"task_id": "' + _json_string("$input.params('task_id')") + '", '
        '"cancel_requested_at": "' + _json_string("$at") + '"}'
    )


def cancel_error_response(caller_reference: str) -> str:
    """A refused condition answered from the old item DynamoDB returns with it: no item, or
    another caller's, is 404 (as ``GET`` answers for an unknown id); a final one is 409.
    Any other error code is answered by :data:`edge.CANCEL_ERRORS`."""
    refused = (
        "#set($old = $body.Item)"
        '#set($owner = "$!old.caller.S")'
        "#if("
        + _present_in("old", "task_id")
        + " && ($owner == '' || $owner == $caller))"
        + _answer(edge.ErrorRule(409, edge.TASK_FINISHED))
        + "#else"
        + _answer(edge.ErrorRule(404, edge.TASK_NOT_FOUND))
        + "#end"
    )
    return (
        _caller(caller_reference)
        + _READ_CODE
        + "#if($code == 'ConditionalCheckFailedException')"
        + refused
        + "#else"
        + _code_branches(edge.CANCEL_ERRORS)
        + "#end"
    )


def _present_in(variable: str, attribute: str) -> str:
    return f'"$!{variable}.{attribute}.S" != ""'

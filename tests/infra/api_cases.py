"""The API's requests and answers, as data: one table for the deployed and the local API.

``test_templates.py`` drives every case through the synthesized API Gateway methods (their
VTL rendered by ``velocity.py``); a dev-API test drives the same cases through
``taskworker dev``'s API, so any difference between local and deployed answers fails a test.
Values that only the runner knows are placeholders it substitutes: :data:`REQUEST_ID`
(the request id of the answer), :data:`MESSAGE_ID` (the task id SQS assigned),
:data:`CALLER` (the principal the runner authenticated as, as the API names it; also in
stored items) and :data:`NOW` (the request's time, as a cancellation records it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from taskworker import edge
from taskworker.messages import CALLER as CALLER_ATTRIBUTE
from taskworker.messages import CORRELATION_ID, IDEMPOTENCY_KEY, TASK_TYPE
from taskworker.status import FINAL, TaskStatus

REQUEST_ID = "<request-id>"
MESSAGE_ID = "<message-id>"
CALLER = "<caller>"
NOW = "<now>"
OTHER_CALLER = "arn:aws:iam::222222222222:user/someone-else"

TASK = "report.generate"
VALID_BODY = '{"account_id": "acme", "period": {"start": "2024-05"}}'


@dataclass(frozen=True)
class Fault:
    """What SQS or DynamoDB answers instead of success: an error code and HTTP status."""

    code: str
    http_status: int = 400


@dataclass(frozen=True)
class Case:
    """One request, what the service answers, and what must come out of the API.

    ``sent`` is the message that must reach SQS (body and String attributes), ``None`` when
    nothing may be sent. For GET and DELETE, ``item`` is the status table's item (``None``:
    no item); after a DELETE the runner compares the stored item with :func:`item_after`.
    """

    name: str
    method: str
    path: str
    status: int
    answer: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    fault: Fault | None = None
    item: dict[str, Any] | None = None
    sent: tuple[str, dict[str, str]] | None = None
    retry_after: str | None = None
    over_http: bool = True
    """False for header values HTTP cannot carry as given (a newline; bytes beyond ASCII,
    whose decoding is the HTTP server's): the templates must still be safe with them."""


def _attributes(correlation_id: str = REQUEST_ID, idempotency_key: str | None = None) -> dict[str, str]:
    attributes = {TASK_TYPE: TASK, CORRELATION_ID: correlation_id, CALLER_ATTRIBUTE: CALLER}
    if idempotency_key:
        attributes[IDEMPOTENCY_KEY] = idempotency_key
    return attributes


def _accepted(name: str, *, headers: dict[str, str] | None = None, body: str = VALID_BODY,
              **attributes: Any) -> Case:  # fmt: skip
    return Case(
        name,
        "POST",
        f"/tasks/{TASK}",
        202,
        {"task_id": MESSAGE_ID},
        headers={"Content-Type": "application/json", **(headers or {})},
        body=body,
        sent=(body, _attributes(**attributes)),
    )


def _error(message: str) -> dict[str, str]:
    return edge.error_body(message, REQUEST_ID)


def _idempotency_spellings() -> list[Case]:
    spellings = [
        "Idempotency-Key",
        "idempotency-key",
        "IDEMPOTENCY-KEY",
        "Idempotency-key",
        "iDeMpOtEnCy-kEy",
    ]
    key = "2024-05-acme"
    return [
        _accepted(f"idempotency header {name}", headers={name: key}, idempotency_key=key)
        for name in spellings
    ]


def _correlation_spellings() -> list[Case]:
    spellings = ["X-Correlation-Id", "x-correlation-id", "X-Correlation-ID", "X-CORRELATION-ID"]
    return [_accepted(f"correlation header {name}", headers={name: "order-7"}, correlation_id="order-7")
            for name in spellings]  # fmt: skip


ADVERSARIAL_VALUES = [
    "&DelaySeconds=900",
    "&MessageAttribute.5.Name=x",
    "#set($x = 1)$context.requestId",
    "line\nbreak",
    "schlüssel-€-🔑",
    "quote ' \" back\\slash /",
]


def _adversarial() -> list[Case]:
    cases = []
    for value in ADVERSARIAL_VALUES:
        over_http = value.isascii() and "\n" not in value
        key = _accepted(
            f"idempotency key {value!r}", headers={"Idempotency-Key": value}, idempotency_key=value
        )
        cid = _accepted(
            f"correlation id {value!r}", headers={"X-Correlation-Id": value}, correlation_id=value
        )
        cases += [replace(key, over_http=over_http), replace(cid, over_http=over_http)]
    odd_body = json.dumps({"account_id": "a&DelaySeconds=900'\"é🔑\n", "period": {"start": "2024-05"}})
    cases.append(_accepted("body with form and quote characters", body=odd_body))
    return cases


def _content_types() -> list[Case]:
    cases = [
        _accepted(f"content type {ct!r}", headers={"Content-Type": ct}) for ct in edge.JSON_CONTENT_TYPES
    ]
    cases.append(replace(_accepted("no content type counts as JSON"), headers={}))
    wrong = ("text/plain", "application/x-www-form-urlencoded", "application/json; charset=utf-16")
    return cases + [
        _refused_post(f"content type {ct}", 415, edge.WRONG_MEDIA_TYPE, VALID_BODY, content_type=ct)
        for ct in wrong
    ]


def _refused_post(name: str, status: int, message: str, body: str, *, task: str = TASK,
                  content_type: str = "application/json") -> Case:  # fmt: skip
    """A POST the API answers with an error, sending nothing to SQS."""
    return Case(name, "POST", f"/tasks/{task}", status, _error(message),
                headers={"Content-Type": content_type}, body=body)  # fmt: skip


def _refused() -> list[Case]:
    return [
        _accepted("empty idempotency key is no key", headers={"Idempotency-Key": ""}),
        _refused_post(
            "body misses a required field", 400, edge.INVALID_BODY, '{"period": {"start": "2024-05"}}'
        ),
        _refused_post(
            "body fails the schema, sent with a charset",
            400,
            edge.INVALID_BODY,
            '{"account_id": 7}',
            content_type="application/json; charset=utf-8",
        ),
        _refused_post("body is not JSON", 400, edge.INVALID_BODY, "{nope"),
        _refused_post("unknown task type", 404, edge.unknown_task("nope"), "{}", task="nope"),
        _refused_post(
            "unknown task type, whatever the content type",
            404,
            edge.unknown_task("nope"),
            "hello",
            task="nope",
            content_type="text/plain",
        ),
        _refused_post("unknown task type with a quote", 404, edge.unknown_task("it's"), "{}", task="it's"),
    ]


def _faults(table: edge.ErrorTable, method: str, path: str, *, body: str = "") -> list[Case]:
    headers = {"Content-Type": "application/json"} if body else {}
    faults = [(code, 400, rule) for rule in table.rules for code in rule.codes]
    faults += [("SomethingNew", 400, table.unknown_4xx), ("InternalError", 500, table.server_error),
               ("ServiceUnavailable", 503, table.server_error)]  # fmt: skip
    return [
        Case(f"{method} answers {code} ({http})", method, path, rule.status, _error(rule.message),
             headers=headers, body=body, fault=Fault(code, http),
             retry_after=None if rule.retry_after is None else str(rule.retry_after))
        for code, http, rule in faults
    ]  # fmt: skip


FULL_ITEM = {
    "task_id": {"S": "t-1"},
    "task_type": {"S": TASK},
    "status": {"S": "failed"},
    "attempt": {"N": "3"},
    "started_at": {"S": "2024-05-01T00:00:00.000Z"},
    "updated_at": {"S": "2024-05-01T00:00:02.000Z"},
    "finished_at": {"S": "2024-05-01T00:00:02.000Z"},
    "result": {"S": '{"rows": 2, "note": "it\'s \\"done\\""}'},
    "error_type": {"S": "ValueError"},
    "error_message": {"S": "bad 'period' \"2024-13\" \\ / é\n"},
    "expires_at": {"N": "1714600000"},
}


def _without(*names: str) -> dict[str, Any]:
    return {k: v for k, v in FULL_ITEM.items() if k not in names}


STATUS_ITEMS = {
    "full item": FULL_ITEM,
    "only the key": {"task_id": {"S": "t-1"}},
    "no error message": _without("error_message"),
    "no result, no finish": _without("result", "finished_at"),
    "no error at all": _without("error_type", "error_message"),
    "no attempt, no status, no times": _without("attempt", "status", "started_at", "updated_at"),
    "running with progress and correlation id": {
        **_without("finished_at", "result", "error_type", "error_message"),
        "status": {"S": "running"},
        "correlation_id": {"S": "order-'7\""},
        "progress_done": {"N": "3"},
        "progress_total": {"N": "10"},
        "progress_msg": {"S": "chunk \"3\" of 'ten' é\n"},
        "progress_at": {"S": "2024-05-01T00:00:01.500Z"},
    },
    "cancelled between attempts, with the request time": {
        "task_id": {"S": "t-1"},
        "status": {"S": "cancelled"},
        "cancel_requested_at": {"S": "2024-05-01T00:00:00.500Z"},
        "updated_at": {"S": "2024-05-01T00:00:00.500Z"},
        "expires_at": {"N": "1714600000"},
    },
    "scheduled, a follow-up with children": {
        "task_id": {"S": "t-1"},
        "task_type": {"S": TASK},
        "status": {"S": "scheduled"},
        "attempt": {"N": "0"},
        "started_at": {"S": "2024-05-01T00:00:00.000Z"},
        "updated_at": {"S": "2024-05-01T00:00:00.000Z"},
        "scheduled_for": {"S": "2024-05-02T06:00:00.000Z"},
        "parent_task_id": {"S": "p-'1\""},
        "children": {"SS": ["c-1", "c-2"]},
        "expires_at": {"N": "1714600000"},
    },
    "progress without total or message": {
        **_without("result", "error_type", "error_message"),
        "progress_done": {"N": "2.5"},
        "progress_at": {"S": "2024-05-01T00:00:01.000Z"},
    },
}


def _status() -> list[Case]:
    cases = [
        Case(f"status: {name}", "GET", "/tasks/t-1", 200, TaskStatus.from_item(item).as_api_json(), item=item)
        for name, item in STATUS_ITEMS.items()
    ]
    cases.append(Case("status of an unknown task", "GET", "/tasks/t-404", 404, _error(edge.TASK_NOT_FOUND)))
    cases.append(
        Case("status of an id with quotes", "GET", "/tasks/it's\"x", 404, _error(edge.TASK_NOT_FOUND))
    )
    return cases


RUNNING_ITEM = {
    **{
        k: v
        for k, v in FULL_ITEM.items()
        if k not in ("finished_at", "result", "error_type", "error_message")
    },
    "status": {"S": "running"},
    "caller": {"S": CALLER},
}
EARLIER = "2024-05-01T00:00:00.500Z"


def _cancel(name: str, item: dict[str, Any] | None, status: int, answer: dict[str, Any],
            *, path: str = "/tasks/t-1") -> Case:  # fmt: skip
    return Case(f"cancel: {name}", "DELETE", path, status, answer, item=item)


def _cancels() -> list[Case]:
    requested = {"task_id": "t-1", "cancel_requested_at": NOW}
    not_found = _error(edge.TASK_NOT_FOUND)
    without_caller = {k: v for k, v in RUNNING_ITEM.items() if k != "caller"}
    return [
        _cancel("a running task of this caller", RUNNING_ITEM, 202, requested),
        _cancel("a running task sent without a caller (TaskClient)", without_caller, 202, requested),
        _cancel(
            "asked twice: the request's time is the latest",
            {**RUNNING_ITEM, "status": {"S": "retrying"}, "cancel_requested_at": {"S": EARLIER}},
            202,
            requested,
        ),
        *[
            _cancel(
                f"a {name} task",
                {**FULL_ITEM, "status": {"S": name}, "caller": {"S": CALLER}},
                409,
                _error(edge.TASK_FINISHED),
            )
            for name in sorted(FINAL)
        ],
        _cancel("a finished task sent without a caller", FULL_ITEM, 409, _error(edge.TASK_FINISHED)),
        _cancel(
            "another caller's running task", {**RUNNING_ITEM, "caller": {"S": OTHER_CALLER}}, 404, not_found
        ),
        _cancel(
            "another caller's finished task", {**FULL_ITEM, "caller": {"S": OTHER_CALLER}}, 404, not_found
        ),
        _cancel("an unknown task (nothing is written)", None, 404, not_found, path="/tasks/t-404"),
        _cancel("an id with quotes", None, 404, not_found, path="/tasks/it's\"x"),
    ]


def item_after(case: Case) -> dict[str, Any] | None:
    """The stored item once ``case`` (a DELETE) was answered: a 202 set the request's time
    as ``cancel_requested_at`` and ``updated_at``; anything else changed nothing."""
    if case.item is None or case.status != 202:
        return case.item
    return {**case.item, "cancel_requested_at": {"S": NOW}, "updated_at": {"S": NOW}}


CASES: list[Case] = [
    _accepted("valid body, no optional headers"),
    *_idempotency_spellings(),
    *_correlation_spellings(),
    _accepted(
        "both headers",
        headers={"idempotency-key": "k-1", "X-CORRELATION-ID": "c-1"},
        idempotency_key="k-1",
        correlation_id="c-1",
    ),
    *_adversarial(),
    *_content_types(),
    *_refused(),
    *_faults(edge.ENQUEUE_ERRORS, "POST", f"/tasks/{TASK}", body=VALID_BODY),
    *_status(),
    *_faults(edge.STATUS_ERRORS, "GET", "/tasks/t-1"),
    *_cancels(),
    *_faults(edge.CANCEL_ERRORS, "DELETE", "/tasks/t-1"),
]

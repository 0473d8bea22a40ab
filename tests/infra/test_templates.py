"""The mapping templates, executed: every case of ``api_cases`` through the synthesized API.

Each request is played through the methods of the synthesized template (``gateway.py``),
their VTL rendered with API Gateway's ``$input``/``$util``/``$context`` (``velocity.py``);
the tests assert the exact form sent to SQS, the exact GetItem request, and the exact JSON,
status and ``Retry-After`` the client gets. A DELETE's UpdateItem is sent, as rendered, to
moto's DynamoDB over HTTP, whose answer (or refusal, with the old item) the API then maps.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("aws_cdk")
pytest.importorskip("airspeed")

from aws_cdk import aws_apigateway as apigw
from taskworker_infra import templates
from taskworker_infra.access import AuthorizerAccess, caller_reference

from taskworker import edge
from taskworker.status import TaskStatus
from tests.infra import api_cases
from tests.infra.api_cases import CALLER, CASES, MESSAGE_ID, NOW, REQUEST_ID, Case, item_after
from tests.infra.gateway import Gateway, sent_message
from tests.infra.helpers import logical_id
from tests.infra.velocity import REQUEST_ID as RENDERED_REQUEST_ID
from tests.infra.velocity import REQUEST_TIME_ISO, Caller, escape_javascript, render, url_encode

ROLE_SESSION = "arn:aws:sts::111111111111:assumed-role/Caller/botocore-session-1700000000"
ROLE = "arn:aws:sts::111111111111:assumed-role/Caller"
SQS_MESSAGE_ID = "5fea7756-0ea4-451a-a703-a558b933e274"


@pytest.fixture(scope="module")
def gateway(synthesis) -> Gateway:
    return Gateway(synthesis.templates["Default"])


class StatusTableService:
    """moto's DynamoDB (JSON protocol over HTTP) answering a rendered integration request
    exactly as sent, under the table name the template renders (the table's logical id)."""

    def __init__(self, endpoint: str, table: str) -> None:
        import boto3

        self.endpoint = endpoint
        self.table = table
        self.client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
        if table not in self.client.list_tables()["TableNames"]:
            self.client.create_table(
                TableName=table,
                KeySchema=[{"AttributeName": "task_id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "task_id", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )

    def store(self, task_id: str, item: dict[str, Any] | None) -> None:
        self.client.delete_item(TableName=self.table, Key={"task_id": {"S": task_id}})
        if item is not None:
            self.client.put_item(TableName=self.table, Item={**item, "task_id": {"S": task_id}})

    def stored(self, task_id: str) -> dict[str, Any] | None:
        return self.client.get_item(TableName=self.table, Key={"task_id": {"S": task_id}}).get("Item")

    def __call__(self, action: str, request: str) -> tuple[int, str]:
        http = urllib.request.Request(
            self.endpoint,
            data=request.encode(),
            headers={
                "X-Amz-Target": f"DynamoDB_20120810.{action}",
                "Content-Type": "application/x-amz-json-1.0",
                "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20240305/us-east-1/dynamodb/"
                "aws4_request, SignedHeaders=host, Signature=0",
            },
        )
        try:
            with urllib.request.urlopen(http, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as refused:
            return refused.code, refused.read().decode()


@pytest.fixture(scope="module")
def status_service(synthesis, moto_endpoint: str) -> StatusTableService:
    table = logical_id(synthesis.templates["Default"], "AWS::DynamoDB::Table", "Status")
    return StatusTableService(moto_endpoint, table)


def _fill(value: Any, caller: str = ROLE) -> Any:
    """The case's placeholders replaced by what this runner knows."""
    if isinstance(value, str):
        return (
            value.replace(REQUEST_ID, RENDERED_REQUEST_ID)
            .replace(MESSAGE_ID, SQS_MESSAGE_ID)
            .replace(CALLER, caller)
            .replace(NOW, REQUEST_TIME_ISO)
        )
    if isinstance(value, dict):
        return {_fill(k, caller): _fill(v, caller) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_fill(v, caller) for v in value)
    return value


def _service(case: Case) -> tuple[int, str]:
    """SQS (query protocol, JSON) or DynamoDB (JSON protocol) answering the case."""
    if case.fault is not None:
        code, status = case.fault.code, case.fault.http_status
        if case.method == "POST":
            error = {"Error": {"Code": code, "Message": "refused", "Type": "Sender"}, "RequestId": "r"}
        else:
            error = {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "refused"}
        return status, json.dumps(error)
    if case.method == "POST":
        result = {"MessageId": SQS_MESSAGE_ID, "MD5OfMessageBody": "x"}
        return 200, json.dumps({"SendMessageResponse": {"SendMessageResult": result}})
    return 200, json.dumps({"Item": case.item} if case.item is not None else {})


def expected_form(body: str, attributes: dict[str, str]) -> str:
    """The SendMessage form, field by field, as the template must write it."""
    fields = [("Action", "SendMessage"), ("MessageBody", body)]
    for index, (name, value) in enumerate(attributes.items(), start=1):
        prefix = f"MessageAttribute.{index}"
        fields += [(f"{prefix}.Name", name), (f"{prefix}.Value.DataType", "String"),
                   (f"{prefix}.Value.StringValue", value)]  # fmt: skip
    return "&".join(f"{key}={url_encode(value)}" for key, value in fields)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_deployed_api_answers_each_case(gateway: Gateway, status_service: StatusTableService,
                                        case: Case) -> None:  # fmt: skip
    service: Any = _service(case)
    task_id = case.path.rsplit("/", 1)[-1]
    if case.method == "DELETE" and case.fault is None:
        status_service.store(task_id, _fill(case.item))
        service = lambda request: status_service("UpdateItem", request)  # noqa: E731
    answer = gateway.call(
        case.method, case.path, headers=case.headers, body=case.body,
        caller=Caller(user_arn=ROLE_SESSION), service=service,
    )  # fmt: skip
    assert (answer.status, answer.json()) == (case.status, _fill(case.answer))
    if case.method == "DELETE" and case.fault is None:
        assert status_service.stored(task_id) == _fill(item_after(case))
    assert answer.headers.get("Retry-After") == case.retry_after
    if case.sent is not None:
        body, attributes = _fill(case.sent)
        assert sent_message(answer.integration_request or "") == (body, attributes)
        assert answer.integration_request == expected_form(body, attributes)
    elif case.method == "POST" and case.fault is None:
        assert answer.integration_request is None, "a refused request must not reach SQS"


@pytest.mark.parametrize("task_id", ["t-1", "it's\"x", "é🔑"])
def test_status_reads_the_item_by_the_exact_task_id(gateway: Gateway, task_id: str) -> None:
    answer = gateway.call("GET", f"/tasks/{task_id}", caller=Caller(user_arn=ROLE_SESSION))
    request = json.loads(answer.integration_request or "")
    assert request["Key"] == {"task_id": {"S": task_id}}
    assert request["ConsistentRead"] is True
    assert request["TableName"].startswith("TasksTablesStatusTable")


def test_exact_form_of_an_adversarial_idempotency_key(gateway: Gateway) -> None:
    """Header values are URL-encoded: they cannot add SendMessage parameters."""
    answer = gateway.call(
        "POST", "/tasks/cleanup", headers={"Idempotency-Key": "k&DelaySeconds=900&MessageAttribute.5.Name=x"},
        body="{}", caller=Caller(user_arn=ROLE_SESSION), service=_service(api_cases.CASES[0]),
    )  # fmt: skip
    assert answer.integration_request == (
        "Action=SendMessage&MessageBody=%7B%7D"
        "&MessageAttribute.1.Name=task_type&MessageAttribute.1.Value.DataType=String"
        "&MessageAttribute.1.Value.StringValue=cleanup"
        "&MessageAttribute.2.Name=correlation_id&MessageAttribute.2.Value.DataType=String"
        f"&MessageAttribute.2.Value.StringValue={RENDERED_REQUEST_ID}"
        "&MessageAttribute.3.Name=caller&MessageAttribute.3.Value.DataType=String"
        "&MessageAttribute.3.Value.StringValue=arn%3Aaws%3Asts%3A%3A111111111111%3Aassumed-role%2FCaller"
        "&MessageAttribute.4.Name=idempotency_key&MessageAttribute.4.Value.DataType=String"
        "&MessageAttribute.4.Value.StringValue=k%26DelaySeconds%3D900%26MessageAttribute.5.Name%3Dx"
    )


def test_iam_user_is_the_caller_by_its_full_arn(gateway: Gateway) -> None:
    user = "arn:aws:iam::111111111111:user/ci"
    answer = gateway.call("POST", "/tasks/cleanup", body="{}", caller=Caller(user_arn=user),
                          service=_service(api_cases.CASES[0]))  # fmt: skip
    assert sent_message(answer.integration_request or "")[1]["caller"] == user


def test_api_key_access_names_the_key_as_caller(synthesis) -> None:
    answer = Gateway(synthesis.templates["Tuned"]).call(
        "POST",
        "/tasks/cleanup",
        body="{}",
        caller=Caller(api_key_id="k9x2abc"),
        service=_service(api_cases.CASES[0]),
    )
    assert sent_message(answer.integration_request or "")[1]["caller"] == "k9x2abc"


@pytest.mark.parametrize(
    ("authorization_type", "caller", "expected"),
    [
        (apigw.AuthorizationType.CUSTOM, Caller(principal_id="tenant-42"), "tenant-42"),
        (apigw.AuthorizationType.COGNITO, Caller(claims={"sub": "user-7"}), "user-7"),
    ],
)
def test_authorizer_access_names_the_authorizer_principal(authorization_type, caller, expected) -> None:
    access = AuthorizerAccess(authorizer=SimpleNamespace(authorization_type=authorization_type))  # type: ignore[arg-type]
    rendered = render(
        templates.enqueue_request("cleanup", caller_reference(access)), body="{}", caller=caller
    )
    assert sent_message(rendered.text)[1]["caller"] == expected


def test_no_caller_attribute_when_the_identity_is_unknown() -> None:
    rendered = render(templates.enqueue_request("cleanup", "context.identity.userArn"), body="{}",
                      headers={"Idempotency-Key": "k"})  # fmt: skip
    assert sent_message(rendered.text)[1] == {
        "task_type": "cleanup", "correlation_id": RENDERED_REQUEST_ID, "idempotency_key": "k",
    }  # fmt: skip


def test_the_sqs_request_template_is_one_line() -> None:
    assert "\n" not in templates.enqueue_request("x", "context.identity.userArn")


def test_error_messages_may_not_carry_vtl() -> None:
    with pytest.raises(ValueError, match="may not contain"):
        templates.error_body("costs $5")


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("it's", "it\\'s"),
        ('say "hi" </b>', 'say \\"hi\\" <\\/b>'),
        ("a\\b\n\t\x01", "a\\\\b\\n\\t\\u0001"),
        ("é€🔑", "\\u00E9\\u20AC\\uD83D\\uDD11"),
    ],
)
def test_escape_javascript_has_the_java_semantics(text: str, escaped: str) -> None:
    assert escape_javascript(text) == escaped


def test_url_encode_has_the_java_semantics() -> None:
    assert url_encode("a b~*'&=é") == "a+b%7E*%27%26%3D%C3%A9"


def test_the_json_idiom_turns_escaped_quotes_back() -> None:
    """AWS's documented ``.replaceAll("\\\\'","'")`` runs as Java would: JSON comes out."""
    rendered = render(templates.unknown_task_response(), path={"task_id": "it's \\' \"x\""})
    assert json.loads(rendered.text)["message"] == edge.unknown_task("it's \\' \"x\"")


_HEADER_TEXT = st.text(min_size=1, max_size=40)


@settings(max_examples=150, deadline=None)
@given(key=_HEADER_TEXT, correlation=_HEADER_TEXT, body=st.text(max_size=60), caller=_HEADER_TEXT)
def test_any_header_and_body_text_arrives_unchanged(
    key: str, correlation: str, body: str, caller: str
) -> None:
    """Whatever a client sends, SQS gets exactly that body and those values: nothing
    in a value can add, end or rename a SendMessage parameter, or run as VTL."""
    rendered = render(
        templates.enqueue_request("report.generate", "context.identity.userArn"),
        body=body, headers={"idempotency-key": key, "X-Correlation-ID": correlation},
        caller=Caller(user_arn=caller),
    )  # fmt: skip
    assert sent_message(rendered.text) == (
        body,
        {
            "task_type": "report.generate",
            "correlation_id": correlation,
            "caller": caller,
            "idempotency_key": key,
        },
    )


_FIELD = st.one_of(st.none(), st.text(min_size=1, max_size=30))
_TEXT_FIELDS = ("task_type", "status", "started_at", "updated_at", "finished_at", "error_type",
                "correlation_id", "cancel_requested_at")  # fmt: skip
_PROGRESS = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {
            "progress_done": st.one_of(st.integers(0, 10**6), st.floats(0, 10**6, allow_nan=False)),
            "progress_at": st.text(max_size=30),
        },
        optional={
            "progress_total": st.integers(0, 10**6),
            "progress_msg": st.text(max_size=30),
        },
    ),
)


@settings(max_examples=150, deadline=None)
@given(
    fields=st.fixed_dictionaries(
        {
            **dict.fromkeys(_TEXT_FIELDS, _FIELD),
            "error_message": st.one_of(st.none(), st.text(max_size=30)),
        }
    ),
    attempt=st.one_of(st.none(), st.integers(min_value=0, max_value=10**6)),
    result=st.one_of(st.none(), st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3)),
    progress=_PROGRESS,
)  # fmt: skip
def test_any_status_item_renders_as_the_local_api_answers_it(fields, attempt, result, progress) -> None:
    """Any item the status writer can leave (fields missing, any text; only an error message
    may be empty) reads as ``TaskStatus.from_item(item).as_api_json()``, the local answer."""
    item = {"task_id": {"S": "t-1"}, **{k: {"S": v} for k, v in fields.items() if v is not None}}
    if attempt is not None:
        item["attempt"] = {"N": str(attempt)}
    if result is not None:
        item["result"] = {"S": json.dumps(result)}
    for name, value in (progress or {}).items():
        item[name] = {"N": str(value)} if isinstance(value, int | float) else {"S": value}
    rendered = render(templates.status_response(), body=json.dumps({"Item": item}))
    assert rendered.status is None
    assert json.loads(rendered.text) == TaskStatus.from_item(item).as_api_json()


_ROLE_CALLER = st.sampled_from(["", ROLE, "arn:aws:iam::222222222222:user/other", 'it\'s "x" é'])


@settings(max_examples=150, deadline=None)
@given(
    exists=st.booleans(),
    status=st.one_of(st.none(), st.sampled_from(["running", "retrying", "succeeded", "failed", "cancelled"])),
    owner=st.one_of(st.none(), _ROLE_CALLER),
    caller=st.sampled_from([ROLE, "arn:aws:iam::222222222222:user/other"]),
)
def test_a_refused_cancel_is_404_unless_the_callers_own_task_exists(exists, status, owner, caller) -> None:
    """DynamoDB refused the condition and returned the old item (if any): another caller's
    task is as unknown as a missing one; the caller's own (or an unowned) one is finished."""
    item: dict[str, Any] = {"task_id": {"S": "t-1"}} if exists else {}
    if exists and status is not None:
        item["status"] = {"S": status}
    if exists and owner is not None:
        item["caller"] = {"S": owner}
    refusal = {"__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException", "message": "x"}
    if item:
        refusal["Item"] = item
    rendered = render(
        templates.cancel_error_response("context.identity.userArn"),
        body=json.dumps(refusal),
        caller=Caller(user_arn=caller),
    )
    own = exists and (not owner or owner == caller)
    expected = (409, edge.TASK_FINISHED) if own else (404, edge.TASK_NOT_FOUND)
    assert (rendered.status, json.loads(rendered.text)["message"]) == expected


@pytest.mark.parametrize(("message_group", "group"), [(None, "ledger.post"), ("accounts", "accounts")])
def test_a_fifo_route_groups_by_the_tasks_message_group_else_its_type(message_group, group) -> None:
    """The same group the client gives a task sent without ``group_id``."""
    template = templates.enqueue_request(
        "ledger.post", "context.identity.userArn", fifo=True, message_group=message_group
    )
    fields = dict(parse_qsl(render(template, body="{}").text, keep_blank_values=True))
    assert fields["MessageGroupId"] == group

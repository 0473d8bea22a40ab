"""``taskworker dev``'s API driven through the table the deployed templates are tested with.

``tests/infra/api_cases.py`` lists requests and the exact answers of the deployed API; here
each goes over HTTP to the local API (``http.client``, so header names keep the case the
case spells), backed by moto. A difference between local and deployed answers fails here.
Service faults are injected by a client wrapper that answers the case's error code the way
botocore reports it; nothing is patched.
"""

from __future__ import annotations

import http.client
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import boto3
import pytest
from botocore.exceptions import ClientError

from taskworker import edge
from taskworker.aws import Clients
from taskworker.dev.api import LocalApi
from taskworker.settings import Settings
from tests.infra.api_cases import CALLER, CASES, MESSAGE_ID, NOW, REQUEST_ID, Case, item_after
from tests.infra.sample_app import app
from tests.moto_env import REGION


class Faulty:
    """Wraps a boto3 client; its ``operations`` raise the armed error code, as botocore does."""

    def __init__(self, client: Any, *operations: str) -> None:
        self._client = client
        self._operations = operations
        self.fault: tuple[str, int] | None = None

    def __getattr__(self, name: str) -> Any:
        if name in self._operations and self.fault is not None:
            code, status = self.fault
            error = {
                "Error": {"Code": code, "Message": "refused"},
                "ResponseMetadata": {"HTTPStatusCode": status},
            }

            def fail(**_: Any) -> Any:
                raise ClientError(error, name)  # type: ignore[arg-type]

            return fail
        return getattr(self._client, name)


class LocalRunner:
    def __init__(self, endpoint: str) -> None:
        self.sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=REGION)
        self.dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION)
        name = f"api-table-{uuid.uuid4().hex[:8]}"
        self.queue_url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        self.table = name
        self.dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "task_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "task_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.faulty_sqs = Faulty(self.sqs, "send_message")
        self.faulty_dynamodb = Faulty(self.dynamodb, "get_item", "update_item")
        app.configure(settings=Settings(status_table=name), clients=Clients(dynamodb=self.faulty_dynamodb))
        self.api = LocalApi(app, self.faulty_sqs, self.queue_url, port=0)
        self.url = self.api.start()

    def request(self, case: Case) -> tuple[int, dict[str, str], Any]:
        parts = urlsplit(self.url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        path = quote(case.path, safe="/")
        connection.putrequest(case.method, path, skip_accept_encoding=True)
        body = case.body.encode()
        for name, value in case.headers.items():
            connection.putheader(name, value.encode())
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        answer = response.read()
        connection.close()
        return response.status, dict(response.getheaders()), json.loads(answer)

    def received(self) -> list[tuple[str, dict[str, str]]]:
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", [])
        for message in messages:
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return [
            (m["Body"], {k: v["StringValue"] for k, v in m.get("MessageAttributes", {}).items()})
            for m in messages
        ]


@pytest.fixture(scope="module")
def local(moto_endpoint: str) -> Iterator[LocalRunner]:
    runner = LocalRunner(moto_endpoint)
    yield runner
    runner.api.stop()
    app.configure(settings=Settings(), clients=Clients())


ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _fill(value: Any, request_id: str = "", message_id: str = "", now: str = "") -> Any:
    """Placeholders replaced by what this run knows: the local caller, and what the answer says."""
    if isinstance(value, str):
        return (
            value.replace(REQUEST_ID, request_id)
            .replace(MESSAGE_ID, message_id)
            .replace(CALLER, edge.LOCAL_CALLER)
            .replace(NOW, now)
        )
    if isinstance(value, dict):
        return {k: _fill(v, request_id, message_id, now) for k, v in value.items()}
    return value


def _expected_attributes(attributes: dict[str, str], received: dict[str, str]) -> dict[str, str]:
    """The local API's caller is always ``edge.LOCAL_CALLER``, and its request id is not in a 202."""
    expected = {k: edge.LOCAL_CALLER if v == CALLER else v for k, v in attributes.items()}
    if expected.get("correlation_id") == REQUEST_ID:
        expected["correlation_id"] = received.get("correlation_id") or "(missing)"
    return expected


@pytest.mark.parametrize("case", [pytest.param(case, id=case.name) for case in CASES])
def test_local_api_answers_each_case_as_deployed(local: LocalRunner, case: Case) -> None:
    if not case.over_http:
        pytest.skip("HTTP cannot carry this header value as given")
    task_id = case.path.rsplit("/", 1)[-1]
    if case.item is not None:
        item = {**_fill(case.item), "task_id": {"S": task_id}}
        local.dynamodb.put_item(TableName=local.table, Item=item)
    local.faulty_sqs.fault = local.faulty_dynamodb.fault = None
    if case.fault is not None:
        target = local.faulty_sqs if case.method == "POST" else local.faulty_dynamodb
        target.fault = (case.fault.code, case.fault.http_status)
    status, headers, answer = local.request(case)
    sent = local.received()
    request_id = answer.get("request_id", "") if isinstance(answer, dict) else ""
    message_id = answer.get("task_id", "") if status == 202 else ""
    now = answer.get("cancel_requested_at", "") if case.method == "DELETE" else ""
    assert now == "" or ISO_TIME.match(now), now
    assert (status, answer) == (case.status, _fill(case.answer, request_id, message_id, now))
    if case.method == "DELETE" and case.fault is None:
        stored = local.dynamodb.get_item(TableName=local.table, Key={"task_id": {"S": task_id}}).get("Item")
        expected = item_after(case)
        assert stored == (
            None if expected is None else {**_fill(expected, now=now), "task_id": {"S": task_id}}
        )
    assert edge.header(headers, "Retry-After") == case.retry_after
    if case.sent is None:
        assert sent == []
    else:
        ((body, attributes),) = sent
        assert (body, attributes) == (case.sent[0], _expected_attributes(case.sent[1], attributes))

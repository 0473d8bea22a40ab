"""TaskClient.get_status against a status table on moto (schema per the status contract)."""

from __future__ import annotations

import os

import boto3

from taskworker import Settings
from taskworker.client import TaskClient
from taskworker.status import TaskStatus


def test_get_status_reads_the_item(moto_endpoint):
    dynamodb = boto3.client(
        "dynamodb", endpoint_url=moto_endpoint, region_name=os.environ["AWS_DEFAULT_REGION"]
    )
    dynamodb.create_table(
        TableName="status-client",
        KeySchema=[{"AttributeName": "task_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "task_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(
        TableName="status-client",
        Item={
            "task_id": {"S": "t-1"},
            "task_type": {"S": "report.generate"},
            "status": {"S": "succeeded"},
            "attempt": {"N": "2"},
            "started_at": {"S": "2026-01-01T00:00:00.000Z"},
            "updated_at": {"S": "2026-01-01T00:00:01.000Z"},
            "finished_at": {"S": "2026-01-01T00:00:01.000Z"},
            "result": {"S": '{"rows": 3}'},
            "expires_at": {"N": "1900000000"},
        },
    )
    client = TaskClient(settings=Settings(status_table="status-client"), dynamodb=dynamodb)
    status = client.get_status("t-1")
    assert status is not None
    assert status["status"] == "succeeded"
    assert status["attempt"] == 2
    assert status["result"] == {"rows": 3}
    assert client.get_status("t-unknown") is None


def test_the_caller_is_stored_but_never_shown() -> None:
    status = TaskStatus("t-1", "report.generate", "running", 1, "a", "b", 9, caller="arn:aws:iam::1:user/x")
    item = status.to_item()
    assert item["caller"] == {"S": "arn:aws:iam::1:user/x"}
    assert TaskStatus.from_item(item) == status
    assert "caller" not in status.as_api_json()

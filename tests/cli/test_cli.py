"""The ``taskworker`` command end to end against moto (CliRunner; the worker runs in a subprocess
in tests/worker/test_worker_moto.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from pydantic import BaseModel

import examples.reports
from tests.cli.helpers import invoke, put_dead_letters, receive_all
from tests.worker.helpers import queue_depth


class Account(BaseModel):
    n: int


def test_help_everywhere():
    for command in ([], ["worker"], ["send"], ["status"], ["schema"], ["dlq"], ["dlq", "redrive"]):
        result = invoke(*command, "--help")
        assert result.exit_code == 0, command
        assert "Usage" in result.output


def test_wrong_module_path_is_one_line_exit_2():
    result = invoke("schema", "examples.nope:app")
    assert result.exit_code == 2
    assert "cannot import module 'examples.nope'" in result.stderr
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_queue_url_is_one_line_exit_2(monkeypatch):
    monkeypatch.delenv("TASKWORKER_QUEUE_URL", raising=False)
    monkeypatch.setattr(examples.reports.app, "_settings", None)
    result = invoke("send", "examples.reports:app", "report.notify", '{"email": "a@b.c", "subject": "hi"}')
    assert result.exit_code == 2
    assert "no queue URL: set TASKWORKER_QUEUE_URL or pass --queue-url" in result.stderr


def test_worker_subcommand_reports_bad_settings_without_traceback():
    process = subprocess.run(
        [sys.executable, "-m", "taskworker.cli", "worker", "examples.reports:app", "--pool", "greenlet"],
        env={"PATH": "", "TASKWORKER_QUEUE_URL": "http://127.0.0.1:9/q", "PYTHONPATH": ":".join(sys.path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode == 2
    assert "pool must be 'thread' or 'process'" in process.stderr
    assert "Traceback" not in process.stderr


def test_schema_prints_every_task():
    result = invoke("schema", "examples.reports:app")
    assert result.exit_code == 0
    schemas = json.loads(result.stdout)
    assert set(schemas) == {"report.generate", "report.notify", "report.fail"}
    assert schemas["report.generate"]["input"]["properties"]["month"]["pattern"]


def test_send_one_and_many(env, tmp_path):
    result = invoke("send", "examples.reports:app", "report.notify", '{"email": "a@b.c", "subject": "hi"}')
    assert result.exit_code == 0, result.output
    task_id = result.stdout.strip()
    lines = [
        {"task_type": "report.generate", "payload": {"account_id": f"a{i}", "month": "2026-01"}}
        for i in range(12)
    ]
    lines[3]["idempotency_key"] = "monthly-a3"
    path = tmp_path / "tasks.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    result = invoke("send", "examples.reports:app", "--file", str(path))
    assert result.exit_code == 0, result.output
    assert "sent 12 tasks" in result.stderr
    messages = receive_all(env.sqs, env.queue_url)
    assert len(messages) == 13
    assert {m["MessageId"] for m in messages} == {task_id, *result.stdout.split()}
    keys = [m["MessageAttributes"].get("idempotency_key", {}).get("StringValue") for m in messages]
    assert keys.count("monthly-a3") == 1


def test_send_refuses_invalid_payloads_with_a_clear_error(env):
    result = invoke("send", "examples.reports:app", "report.generate", '{"account_id": "a", "month": "26-1"}')
    assert result.exit_code == 2
    assert "invalid payload for report.generate: month" in result.stderr
    result = invoke("send", "examples.reports:app", "report.generate", "{not json")
    assert result.exit_code == 2
    assert "payload: not valid JSON" in result.stderr
    assert queue_depth(env.sqs, env.queue_url) == (0, 0)


def test_status(env, monkeypatch):
    import boto3

    dynamodb = boto3.client("dynamodb", endpoint_url=env.endpoint)
    dynamodb.create_table(
        TableName="status-cli",
        KeySchema=[{"AttributeName": "task_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "task_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    item = {"task_id": {"S": "t-9"}, "task_type": {"S": "report.fail"}, "status": {"S": "failed"}}
    item |= {"attempt": {"N": "1"}, "error_type": {"S": "PermanentError"}, "error_message": {"S": "closed"}}
    dynamodb.put_item(TableName="status-cli", Item=item)
    monkeypatch.setenv("TASKWORKER_STATUS_TABLE", "status-cli")
    result = invoke("status", "t-9")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["error"] == {"type": "PermanentError", "message": "closed"}
    assert invoke("status", "t-404").exit_code == 1
    monkeypatch.delenv("TASKWORKER_STATUS_TABLE")
    assert invoke("status", "t-9").exit_code == 2


def new_status_table(env: Any) -> tuple[str, Any]:
    """A fresh status table on moto, named uniquely, and the client that made it."""
    import uuid

    import boto3

    table = f"status-{uuid.uuid4().hex[:8]}"
    dynamodb = boto3.client("dynamodb", endpoint_url=env.endpoint)
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "task_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "task_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return table, dynamodb


def test_cancel(env, monkeypatch):
    table, dynamodb = new_status_table(env)
    dynamodb.put_item(TableName=table, Item={"task_id": {"S": "t-done"}, "status": {"S": "succeeded"}})
    dynamodb.put_item(TableName=table, Item={"task_id": {"S": "t-running"}, "status": {"S": "running"}})
    monkeypatch.setenv("TASKWORKER_STATUS_TABLE", table)
    result = invoke("cancel", "t-running")
    assert result.exit_code == 0, result.output
    record = json.loads(invoke("status", "t-running").stdout)
    assert (record["status"], "cancel_requested_at" in record) == ("running", True)
    refused = invoke("cancel", "t-done")
    assert refused.exit_code == 1
    assert "already has a final status" in refused.output
    unknown = invoke("cancel", "t-unknown")
    assert unknown.exit_code == 1
    assert "no status recorded for task t-unknown" in unknown.output
    assert invoke("status", "t-unknown").exit_code == 1, "nothing was written for an unknown id"
    monkeypatch.delenv("TASKWORKER_STATUS_TABLE")
    assert invoke("cancel", "t-running").exit_code == 2


def test_dlq_list_and_show(env):
    put_dead_letters(env.sqs, env.dlq_url, 3)
    result = invoke("dlq", "list")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("PermanentError") == 3
    assert queue_depth(env.sqs, env.dlq_url) == (3, 0)  # looking did not hide anything
    (message,) = [m for m in receive_all(env.sqs, env.dlq_url) if "failure 1" in json.dumps(m)]
    env.sqs.change_message_visibility_batch(
        QueueUrl=env.dlq_url,
        Entries=[{"Id": "0", "ReceiptHandle": message["ReceiptHandle"], "VisibilityTimeout": 0}],
    )
    for m in receive_all(env.sqs, env.dlq_url):  # make all visible again for `show`
        env.sqs.change_message_visibility(
            QueueUrl=env.dlq_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
        )
    result = invoke("dlq", "show", message["MessageId"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["error"] == {"type": "PermanentError", "message": "failure 1"}
    assert shown["payload"]["subject"] == "1"
    assert invoke("dlq", "show", "no-such-id").exit_code == 1


def test_dlq_redrive_of_100_messages_loses_none(env):
    put_dead_letters(env.sqs, env.dlq_url, 100)
    result = invoke("dlq", "redrive")
    assert result.exit_code == 0, result.output
    assert "redrove 100 messages (manual)" in result.stdout
    assert "StartMessageMoveTask unavailable" in result.stderr  # moto: HTTP 500, so by hand
    assert queue_depth(env.sqs, env.dlq_url) == (0, 0)
    messages = receive_all(env.sqs, env.queue_url)
    assert sorted(json.loads(m["Body"])["subject"] for m in messages) == sorted(str(n) for n in range(100))
    for message in messages:
        assert set(message["MessageAttributes"]) == {
            "task_type",
            "task_id",
        }  # error_*/failed_at stripped, id kept


def test_dlq_list_and_show_find_a_dead_lettered_copy_by_the_task_id_the_client_got(env):
    from taskworker import PermanentError, TaskApp

    app = TaskApp("cli-dlq")

    @app.task("acct.close")
    def close(payload: Account) -> None:
        raise PermanentError("account is closed")

    task_id = app.client().submit("acct.close", {"n": 1}).task_id
    from taskworker.testing import lambda_context, receive_lambda_event

    assert app.lambda_handler(receive_lambda_event(env.sqs, env.queue_url), lambda_context()) == {
        "batchItemFailures": []
    }
    listed = invoke("dlq", "list")
    assert task_id in listed.stdout
    result = invoke("dlq", "show", task_id)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["task_id"] == task_id
    assert shown["message_id"] != task_id  # a copy: SQS gave it a new MessageId
    assert shown["error"] == {"type": "PermanentError", "message": "account is closed"}


def test_dlq_show_of_a_message_sqs_redrove_names_the_error_from_its_status(env, monkeypatch):

    from taskworker.status import StatusTable, TaskStatus

    sent = env.sqs.send_message(  # what SQS's redrive leaves: the original MessageId, no reason
        QueueUrl=env.dlq_url,
        MessageBody=json.dumps({"email": "a@b.c", "subject": "s"}),
        MessageAttributes={"task_type": {"DataType": "String", "StringValue": "report.notify"}},
    )
    task_id = sent["MessageId"]
    table, dynamodb = new_status_table(env)
    failed = TaskStatus(task_id, "report.notify", "failed", 5, "s", "u", 1, error_type="TimeoutError")
    assert StatusTable(table, dynamodb).put_batch([failed]).ok
    monkeypatch.setenv("TASKWORKER_STATUS_TABLE", table)

    listed = invoke("dlq", "list")
    assert task_id in listed.stdout
    assert "(redriven by SQS)" in listed.stdout
    shown = json.loads(invoke("dlq", "show", task_id).stdout)
    assert (shown["task_id"], shown["error"]) == (task_id, None)
    assert shown["status"]["error"]["type"] == "TimeoutError"


def test_dlq_list_says_that_listing_raises_receive_counts_and_it_does(env, monkeypatch):
    monkeypatch.setattr("typer.rich_utils.MAX_WIDTH", 400)  # the help's sentence on one line
    put_dead_letters(env.sqs, env.dlq_url, 1)
    receives = []
    for _ in range(2):
        result = invoke("dlq", "list")
        assert result.exit_code == 0, result.output
        assert "listing received each shown message once: its receive count went up by one" in result.stdout
        (row,) = [line for line in result.stdout.splitlines() if "PermanentError" in line]
        receives.append(int(row.rstrip(" │").rsplit("│", 1)[1]))
    assert receives == [1, 2]
    assert "listing raises its receive count by one" in " ".join(
        invoke("dlq", "list", "--help").stdout.split()
    )

"""The VTL mapping templates, read as the contract they are."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("aws_cdk")

from taskworker_infra import templates


def test_enqueue_request_is_one_line_form_with_attributes() -> None:
    vtl = templates.enqueue_request("report.generate")
    assert "\n" not in vtl
    assert "Action=SendMessage&MessageBody=$util.urlEncode($input.body)" in vtl
    assert (
        "&MessageAttribute.1.Name=task_type&MessageAttribute.1.Value.DataType=String"
        "&MessageAttribute.1.Value.StringValue=report.generate"
    ) in vtl
    assert "&MessageAttribute.2.Name=correlation_id" in vtl


def test_idempotency_key_attribute_only_when_header_present() -> None:
    vtl = templates.enqueue_request("x")
    guarded = vtl[vtl.index('#if("$!ikey" != "")') :]
    assert guarded.startswith('#if("$!ikey" != "")&MessageAttribute.3.Name=idempotency_key')
    assert "MessageAttribute.3.Value.StringValue=$util.urlEncode($ikey)#end" in guarded
    assert "header.get('Idempotency-Key')" in vtl
    assert "header.get('idempotency-key')" in vtl


def test_correlation_id_falls_back_to_the_request_id() -> None:
    vtl = templates.enqueue_request("x")
    assert "header.get('X-Correlation-Id')" in vtl
    assert '#if("$!cid" == "")#set($cid = $context.requestId)#end' in vtl


def test_task_type_is_url_encoded() -> None:
    assert "StringValue=a%2Bb" in templates.enqueue_request("a+b")


def test_enqueue_response_reads_the_message_id() -> None:
    vtl = templates.enqueue_response()
    assert "$.SendMessageResponse.SendMessageResult.MessageId" in vtl
    assert '{"task_id": "$util.escapeJavaScript($id)"}' in vtl


def test_status_request_is_a_consistent_get_item() -> None:
    body = templates.status_request("tasks-table")
    assert body.startswith('{"TableName": "tasks-table", "ConsistentRead": true')
    assert "$util.escapeJavaScript($input.params('task_id'))" in body


def test_status_response_maps_item_and_404() -> None:
    vtl = templates.status_response()
    assert "#set($context.responseOverride.status = 404)" in vtl
    assert '{"message": "task not found"}' in vtl
    for field in ("task_id", "task_type", "status", "started_at", "updated_at", "finished_at"):
        assert f'"{field}": ' in vtl
    assert '"attempt": #if("$!item.attempt.N" != "")$item.attempt.N#{else}0#end' in vtl
    assert '"result": $item.result.S' in vtl  # embedded raw: it is JSON text
    assert '"error": {"type": ' in vtl
    assert "error_message" in vtl


def test_error_body_is_json_with_request_id() -> None:
    assert json.loads(templates.error_body('say "hi"')) == {
        "message": 'say "hi"',
        "request_id": "$context.requestId",
    }

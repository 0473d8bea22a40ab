"""Queues, topic and tables: encryption, TLS, redrive, retention, TTL, recovery."""

from __future__ import annotations

import pytest

pytest.importorskip("aws_cdk")

from tests.infra.helpers import arn, logical_id, only, resources


def test_queue_redrives_to_dlq_after_five_receives(synthesis) -> None:
    tpl = synthesis.templates["Default"]
    dlq = logical_id(tpl, "AWS::SQS::Queue", "DeadLetter")
    queue = resources(tpl, "AWS::SQS::Queue")[logical_id(tpl, "AWS::SQS::Queue", "QueuesQueue")]
    assert queue["RedrivePolicy"] == {"deadLetterTargetArn": arn(dlq), "maxReceiveCount": 5}
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 4 * 24 * 3600


def test_dlq_is_encrypted_and_keeps_messages_14_days(synthesis) -> None:
    tpl = synthesis.templates["Default"]
    dlq = resources(tpl, "AWS::SQS::Queue")[logical_id(tpl, "AWS::SQS::Queue", "DeadLetter")]
    assert dlq["SqsManagedSseEnabled"] is True
    assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600


def _denies_insecure_transport(document: dict) -> bool:
    return any(
        s["Effect"] == "Deny"
        and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        and s["Principal"] in ({"AWS": "*"}, "*")
        for s in document["Statement"]
    )


def test_both_queues_enforce_tls(synthesis) -> None:
    tpl = synthesis.templates["Default"]
    policies = resources(tpl, "AWS::SQS::QueuePolicy").values()
    covered = [q["Ref"] for p in policies if _denies_insecure_transport(p["PolicyDocument"])
               for q in p["Queues"]]  # fmt: skip
    assert sorted(covered) == sorted(resources(tpl, "AWS::SQS::Queue"))


def test_result_topic_is_encrypted_and_tls_only(synthesis) -> None:
    tpl = synthesis.templates["Default"]
    topic_id, topic = only(tpl, "AWS::SNS::Topic")
    assert topic["KmsMasterKeyId"] == {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":kms:", {"Ref": "AWS::Region"},
                          ":", {"Ref": "AWS::AccountId"}, ":alias/aws/sns"]]
    }  # fmt: skip
    (policy,) = resources(tpl, "AWS::SNS::TopicPolicy").values()
    assert policy["Topics"] == [{"Ref": topic_id}]
    assert _denies_insecure_transport(policy["PolicyDocument"])


@pytest.mark.parametrize(
    ("fragment", "key", "ttl"),
    [("StatusTable", "task_id", "expires_at"), ("IdempotencyTable", "id", "expiration")],
)
def test_tables_are_on_demand_with_ttl_and_pitr(synthesis, fragment: str, key: str, ttl: str) -> None:
    tpl = synthesis.templates["Default"]
    table = resources(tpl, "AWS::DynamoDB::Table")[logical_id(tpl, "AWS::DynamoDB::Table", fragment)]
    assert table["KeySchema"] == [{"AttributeName": key, "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": key, "AttributeType": "S"}]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["TimeToLiveSpecification"] == {"AttributeName": ttl, "Enabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert tpl["Resources"][logical_id(tpl, "AWS::DynamoDB::Table", fragment)]["DeletionPolicy"] == "Retain"

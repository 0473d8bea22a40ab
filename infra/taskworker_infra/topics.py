"""SNS topics: task results, and (optionally) alarm notifications."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

__all__ = ["alarm_topic", "result_topic"]


def result_topic(scope: Construct, construct_id: str, *, key: kms.IKey | None = None) -> sns.Topic:
    """The topic result events are published to: encrypted and TLS-only.

    By default it uses the AWS-managed ``alias/aws/sns`` key, whose key policy already admits
    publishers in the account, so the consumer needs only ``sns:Publish``. Pass a customer
    key for cross-account subscribers or encrypted SQS subscriptions.
    """
    return sns.Topic(
        scope,
        construct_id,
        master_key=key or kms.Alias.from_alias_name(scope, f"{construct_id}Key", "alias/aws/sns"),
        enforce_ssl=True,
    )


def alarm_topic(scope: Construct, construct_id: str) -> sns.Topic:
    """A topic for alarm notifications, with its own customer-managed key.

    CloudWatch cannot publish to topics encrypted with the AWS-managed SNS key, so this key's
    policy lets the CloudWatch service principal use it (and rotates yearly).
    """
    key = kms.Key(
        scope,
        f"{construct_id}Key",
        enable_key_rotation=True,
        description="Encrypts the taskworker alarm notification topic",
    )
    key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*")
    return sns.Topic(scope, construct_id, master_key=key, enforce_ssl=True)

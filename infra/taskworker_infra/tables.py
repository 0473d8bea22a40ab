"""DynamoDB tables for task status and for powertools idempotency records."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from constructs import Construct

__all__ = ["TaskTables"]


class TaskTables(Construct):
    """On-demand tables with TTL, point-in-time recovery and a TLS-only resource policy.

    The key schemas are the wire contract of the core library: ``task_id``/``expires_at`` for
    statuses, powertools' default ``id``/``expiration`` for idempotency records.
    """

    def __init__(self, scope: Construct, construct_id: str, *, removal_policy: RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        self.status = self._table("StatusTable", "task_id", "expires_at", removal_policy)
        self.idempotency = self._table("IdempotencyTable", "id", "expiration", removal_policy)

    def _table(self, construct_id: str, key: str, ttl: str, removal_policy: RemovalPolicy) -> dynamodb.Table:
        return dynamodb.Table(
            self,
            construct_id,
            partition_key=dynamodb.Attribute(name=key, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=ttl,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=removal_policy,
            resource_policy=_tls_only(),
        )


def _tls_only() -> iam.PolicyDocument:
    """Deny every request that does not arrive over TLS, whoever makes it.

    DynamoDB takes resource-based policies since 2024; a table's own policy must name its
    resource as ``*`` (its ARN does not exist yet when the policy is attached).
    """
    return iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(
                sid="DenyInsecureTransport",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["dynamodb:*"],
                resources=["*"],
                conditions={"Bool": {"aws:SecureTransport": "false"}},
            )
        ]
    )

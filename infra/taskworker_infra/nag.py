"""cdk-nag (3.x) wiring: run AwsSolutions checks and acknowledge findings with reasons.

Acknowledgments live next to the construct that causes the finding, so a reason can never
outlive the design decision it explains.
"""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

__all__ = ["acknowledge", "add_aws_solutions_checks", "arn_prefix"]

_PACK = "AwsSolutions"


def add_aws_solutions_checks(scope: IConstruct) -> None:
    """Make every unacknowledged AwsSolutions finding fail synthesis of ``scope`` (an App)."""
    cdk.Validations.of(scope).add_plugins(AwsSolutionsChecks(verbose=True))


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge ``rule`` (e.g. ``"IAM5[Resource::*]"``) for ``scope`` and its children."""
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=f"{_PACK}::{_PACK}-{rule}", reason=reason))


def arn_prefix(scope: IConstruct, service: str) -> str:
    """``arn:<partition>:<service>:<region>:<account>`` as cdk-nag prints it in finding ids.

    Environment-agnostic stacks show ``<AWS::Region>``-style placeholders, stacks with a
    known account or region (``cdk synth`` sets ``CDK_DEFAULT_REGION``) show the literal, so
    an acknowledgment must be built from the stack it lands in.
    """
    stack = cdk.Stack.of(scope)

    def part(value: str, placeholder: str) -> str:
        return f"<{placeholder}>" if cdk.Token.is_unresolved(value) else value

    return ":".join(
        [
            "arn",
            part(stack.partition, "AWS::Partition"),
            service,
            part(stack.region, "AWS::Region"),
            part(stack.account, "AWS::AccountId"),
        ]
    )

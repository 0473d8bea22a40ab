"""cdk-nag (3.x) wiring: run AwsSolutions checks and acknowledge findings with reasons.

Acknowledgments live next to the construct that causes the finding, so a reason can never
outlive the design decision it explains.
"""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

__all__ = ["acknowledge", "add_aws_solutions_checks"]

_PACK = "AwsSolutions"


def add_aws_solutions_checks(scope: IConstruct) -> None:
    """Make every unacknowledged AwsSolutions finding fail synthesis of ``scope`` (an App)."""
    cdk.Validations.of(scope).add_plugins(AwsSolutionsChecks(verbose=True))


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge ``rule`` (e.g. ``"IAM5[Resource::*]"``) for ``scope`` and its children."""
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=f"{_PACK}::{_PACK}-{rule}", reason=reason))

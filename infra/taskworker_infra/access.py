"""Who may call the API: IAM (default), an API key with a usage plan, or an authorizer.

Each mode also names who *is* calling (:func:`caller_reference`): the API puts that identity
on every message as the ``caller`` attribute, and idempotency keys are scoped by it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aws_cdk import aws_apigateway as apigw

__all__ = ["ApiAccess", "ApiKeyAccess", "AuthorizerAccess", "IamAccess", "caller_reference", "method_options"]


@dataclass(frozen=True)
class IamAccess:
    """SigV4-signed requests; grant callers ``execute-api:Invoke`` (see ``grant_invoke``)."""


@dataclass(frozen=True)
class ApiKeyAccess:
    """An ``x-api-key`` header checked against a generated key and a throttled usage plan.

    Keys identify and meter callers; they do not authorize. Prefer IAM or an authorizer.
    """

    rate_limit: float = 10
    burst_limit: int = 20
    quota_per_day: int | None = 10_000


@dataclass(frozen=True)
class AuthorizerAccess:
    """A Cognito user pool or Lambda authorizer you built (OAuth scopes for Cognito)."""

    authorizer: apigw.IAuthorizer
    scopes: tuple[str, ...] = field(default=())


ApiAccess = IamAccess | ApiKeyAccess | AuthorizerAccess


def method_options(access: ApiAccess) -> dict[str, Any]:
    """Keyword arguments for ``Resource.add_method`` that enforce ``access``."""
    if isinstance(access, IamAccess):
        return {"authorization_type": apigw.AuthorizationType.IAM}
    if isinstance(access, ApiKeyAccess):
        return {"authorization_type": apigw.AuthorizationType.NONE, "api_key_required": True}
    options: dict[str, Any] = {
        "authorizer": access.authorizer,
        "authorization_type": access.authorizer.authorization_type,
    }
    if access.scopes:
        options["authorization_scopes"] = list(access.scopes)
    return options


def caller_reference(access: ApiAccess) -> str:
    """The ``$context`` path (VTL, without ``$``) of the authenticated caller under ``access``.

    IAM: the signing principal's ARN. API key: the key's id (one key per tenant). Lambda
    authorizer: the ``principalId`` it returned. Cognito: the token's ``sub`` (the user,
    or the app client for client-credentials tokens).
    """
    if isinstance(access, IamAccess):
        return "context.identity.userArn"
    if isinstance(access, ApiKeyAccess):
        return "context.identity.apiKeyId"
    if access.authorizer.authorization_type == apigw.AuthorizationType.COGNITO:
        return "context.authorizer.claims.sub"
    return "context.authorizer.principalId"

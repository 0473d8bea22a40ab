"""The REST API: ``POST /tasks/{task_type}`` enqueues, ``GET /tasks/{task_id}`` reads status,
``DELETE /tasks/{task_id}`` asks for cancellation.

Every route is a direct service integration (API Gateway -> SQS, API Gateway -> DynamoDB):
no Lambda sits in the request path, so accepting a task costs one SendMessage and answers in
milliseconds even when the consumer is cold or saturated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from aws_cdk import Aws, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from taskworker import edge

from . import templates
from .access import ApiAccess, ApiKeyAccess, AuthorizerAccess, IamAccess, caller_reference, method_options
from .nag import acknowledge, arn_prefix
from .registry import TaskSpec
from .schema import to_draft4, without_null_defaults

__all__ = ["ApiOptions", "TaskApi", "access_log_format", "model_name"]

_T = TypeVar("_T")

_JSON = edge.JSON_MEDIA_TYPE
_RETRY_AFTER = "method.response.header.Retry-After"

# Access log record: one JSON object per request, with the integration's answer, so a
# rejected enqueue can be traced from the request id a client quotes. Access log formats
# are plain substitutions (no $util), so only values API Gateway itself quotes or that
# cannot hold a quote appear: the validation error text is left out (it echoes payload
# values, and it is not escaped); the error message is the pre-quoted messageString.
_ACCESS_LOG = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "ip": "$context.identity.sourceIp",
    "caller": "$context.identity.caller",
    "user": "$context.identity.user",
    "userArn": "$context.identity.userArn",
    "apiKeyId": "$context.identity.apiKeyId",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "path": "$context.path",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationStatus": "$context.integration.status",
    "integrationLatency": "$context.integration.latency",
    "errorResponseType": "$context.error.responseType",
    "errorMessage": "$context.error.messageString",
}


def access_log_format() -> str:
    """The access log record as JSON text; ``messageString`` is inserted unquoted because
    API Gateway quotes (and escapes) it itself."""
    text = json.dumps(_ACCESS_LOG)
    return text.replace('"$context.error.messageString"', "$context.error.messageString")


@dataclass(frozen=True)
class ApiOptions:
    """Stage settings. Throttling applies to every method of the stage.

    ``account_logging_role`` creates the account's API Gateway CloudWatch role
    (``AWS::ApiGateway::Account``). It is off by default: that setting is one per account and
    region, so a stack that sets it overwrites the role every other API there logs with, and
    keeps it after the stack is deleted. Turn it on in one stack of an account that has none
    yet (API Gateway refuses to enable logging until the account has a role).
    """

    stage_name: str = "v1"
    throttling_rate_limit: float = 50
    throttling_burst_limit: int = 100
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH
    web_acl_arn: str | None = None
    account_logging_role: bool = False


def model_name(task_name: str) -> str:
    """An API Gateway model name (alphanumeric) for a task: ``report.generate`` ->
    ``ReportGenerateInput``."""
    words = re.split(r"[^A-Za-z0-9]+", task_name)
    return "".join(word[:1].upper() + word[1:] for word in words if word) + "Input"


class TaskApi(Construct):
    """A regional REST API in front of the task queues and the status table.

    Each task's route writes to its own queue (``queues[spec.queue]``); the enqueue role may
    send to exactly the queues some route writes to.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        tasks: Sequence[TaskSpec],
        queues: Mapping[str, sqs.IQueue],
        status_table: dynamodb.ITable,
        access: ApiAccess,
        options: ApiOptions,
    ) -> None:
        super().__init__(scope, construct_id)
        self._access = access
        self._stage_name = options.stage_name
        self._task_names = [spec.name for spec in tasks]
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=options.log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        self.rest_api = self._rest_api(options)
        self.validator = self.rest_api.add_request_validator(
            "Validator", validate_request_body=True, validate_request_parameters=True
        )
        tasks_resource = self.rest_api.root.add_resource("tasks")
        routed = [queues[name] for name in dict.fromkeys(spec.queue for spec in tasks)]
        self.enqueue_role = self._service_role(
            "EnqueueRole", "sqs:SendMessage", [queue.queue_arn for queue in routed], "enqueues tasks"
        )
        self.status_role = self._service_role(
            "StatusRole", "dynamodb:GetItem", [status_table.table_arn], "reads task status"
        )
        _ensure_unique_models(tasks)
        for spec in tasks:
            self._add_enqueue_route(tasks_resource, spec, queues[spec.queue])
        by_id = tasks_resource.add_resource("{task_id}")
        self._add_status_route(by_id, status_table)
        self.cancel_role = self._cancel_role(status_table)
        self._add_cancel_route(by_id, status_table)
        self._add_unknown_task_route(by_id)
        self._add_gateway_responses()
        self._apply_access(access)
        self._apply_waf(options.web_acl_arn)

    @property
    def url(self) -> str:
        return self.rest_api.url

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` enqueue every registered task, read any task's status and cancel
        its own tasks (IAM access).

        POST is granted per task resource; GET and DELETE need ``/tasks/*`` because task ids
        are only known at run time, which is acknowledged for cdk-nag on the grantee. Which
        task a DELETE may touch is the API's rule (the caller's own), not the grant's.
        """
        stage = self._stage_name
        arns = [self.rest_api.arn_for_execute_api("POST", f"/tasks/{name}", stage)
                for name in self._task_names]  # fmt: skip
        by_id = [self.rest_api.arn_for_execute_api(method, "/tasks/*", stage) for method in ("GET", "DELETE")]
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=["execute-api:Invoke"], resource_arns=[*arns, *by_id]
        )
        principal = grantee.grant_principal
        if isinstance(principal, Construct):
            api_id = Stack.of(self).get_logical_id(self.rest_api.node.default_child)  # type: ignore[arg-type]
            prefix = f"{arn_prefix(principal, 'execute-api')}:<{api_id}>/{stage}"
            for method in ("GET", "DELETE"):
                acknowledge(
                    principal,
                    f"IAM5[Resource::{prefix}/{method}/tasks/*]",
                    f"{method} /tasks/{{task_id}} (status, cancellation): task ids are SQS message "
                    "ids known only at run time, so the path parameter is a wildcard.",
                )
        return grant

    def _rest_api(self, options: ApiOptions) -> apigw.RestApi:
        api = apigw.RestApi(
            self,
            "Api",
            description="taskworker: accept tasks into SQS and report their status",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=options.account_logging_role,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN if options.account_logging_role else None,
            deploy_options=apigw.StageOptions(
                stage_name=options.stage_name,
                throttling_rate_limit=options.throttling_rate_limit,
                throttling_burst_limit=options.throttling_burst_limit,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.custom(access_log_format()),
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,
            ),
        )
        if options.account_logging_role:
            self._restrict_account_logging_role(api)
        return api

    def _restrict_account_logging_role(self, api: apigw.RestApi) -> None:
        """CDK's account logging role, trusted only by API Gateway acting for this account."""
        role = api.node.find_child("CloudWatchRole")
        cfn = role.node.default_child
        assert isinstance(cfn, iam.CfnRole)
        cfn.add_property_override(
            "AssumeRolePolicyDocument.Statement.0.Condition",
            {"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
        )
        acknowledge(
            api,
            "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            "The account-level role API Gateway needs for execution logging (required by "
            "APIG6); AWS's managed policy is the documented, minimal policy for it.",
        )

    def _service_role(
        self,
        construct_id: str,
        action: str,
        resource_arns: list[str],
        purpose: str,
        conditions: dict[str, Any] | None = None,
    ) -> iam.Role:
        """A role API Gateway assumes for one kind of integration, allowed exactly one action
        on the given ARNs, and trusted only when API Gateway acts for this API (no confused
        deputy)."""
        principal = iam.ServicePrincipal("apigateway.amazonaws.com").with_conditions(
            {
                "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                "ArnLike": {"aws:SourceArn": self.rest_api.arn_for_execute_api("*", "/*", "*")},
            }
        )
        return iam.Role(
            self,
            construct_id,
            assumed_by=principal,
            description=f"API Gateway integration role that {purpose}",
            inline_policies={
                "Integration": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(actions=[action], resources=resource_arns, conditions=conditions)
                    ]
                )
            },
        )

    def _add_enqueue_route(self, parent: apigw.Resource, spec: TaskSpec, queue: sqs.IQueue) -> None:
        """``POST /tasks/<name>``: SendMessage to ``queue``, the task's own queue (with the
        FIFO group and deduplication ids when it is a FIFO queue)."""
        model = self._request_model(spec)
        integration = apigw.AwsIntegration(
            service="sqs",
            path=f"{Aws.ACCOUNT_ID}/{queue.queue_name}",
            integration_http_method="POST",
            options=apigw.IntegrationOptions(
                credentials_role=self.enqueue_role,
                passthrough_behavior=apigw.PassthroughBehavior.NEVER,
                request_parameters={
                    "integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"
                },
                request_templates=_for_json(
                    templates.enqueue_request(
                        spec.name,
                        caller_reference(self._access),
                        fifo=queue.fifo,
                        message_group=spec.message_group,
                    )
                ),
                integration_responses=_error_responses(
                    edge.ENQUEUE_ERRORS, "202", templates.enqueue_response()
                ),
            ),
        )
        parent.add_resource(spec.name).add_method(
            "POST",
            integration,
            request_models=_for_json(model),
            request_validator=self.validator,
            request_parameters={
                f"method.request.header.{templates.IDEMPOTENCY_HEADER}": False,
                f"method.request.header.{templates.CORRELATION_HEADER}": False,
            },
            method_responses=_method_responses("202", "400", "500", "503"),
            **method_options(self._access),
        )

    def _request_model(self, spec: TaskSpec) -> apigw.IModel:
        """A draft-4 model of the task's input; also folded into the deployment's identity
        so a schema change redeploys the stage."""
        schema = without_null_defaults(to_draft4(spec.input_schema))
        name = model_name(spec.name)
        cfn = apigw.CfnModel(
            self,
            f"{name}Model",
            rest_api_id=self.rest_api.rest_api_id,
            content_type=_JSON,
            name=name,
            description=f"Input of task {spec.name}",
            schema=schema,
        )
        self.rest_api.latest_deployment.add_to_logical_id({"model": name, "schema": schema})
        return apigw.Model.from_model_name(self, f"{name}Ref", cfn.ref)

    def _add_status_route(self, resource: apigw.Resource, table: dynamodb.ITable) -> None:
        self._add_table_route(
            resource,
            "GET",
            "GetItem",
            self.status_role,
            templates.status_request(table.table_name),
            _error_responses(edge.STATUS_ERRORS, "200", templates.status_response()),
            ("200", "400", "404", "500", "503"),
        )

    def _cancel_role(self, table: dynamodb.ITable) -> iam.Role:
        """UpdateItem on the status table and nothing else, and only as the template asks it:
        answering just the attributes it set (``ReturnValues: UPDATED_NEW``), so the role
        cannot be made to return whole items (results, errors) from a write."""
        return self._service_role(
            "CancelRole",
            "dynamodb:UpdateItem",
            [table.table_arn],
            "records cancellation requests",
            conditions={"StringEquals": {"dynamodb:ReturnValues": "UPDATED_NEW"}},
        )

    def _add_cancel_route(self, resource: apigw.Resource, table: dynamodb.ITable) -> None:
        """``DELETE /tasks/{task_id}``: one conditional UpdateItem (``status.cancel_request``);
        202 when recorded, 404 for no such task (or another caller's), 409 once finished."""
        caller = caller_reference(self._access)
        server_error = templates.error_response(edge.CANCEL_ERRORS, server_error=True)
        self._add_table_route(
            resource,
            "DELETE",
            "UpdateItem",
            self.cancel_role,
            templates.cancel_request(table.table_name, caller),
            [
                _json_response("202", templates.cancel_response()),
                _json_response("500", templates.cancel_error_response(caller), r"4\d{2}"),
                _json_response("503", server_error, r"5\d{2}"),
            ],
            ("202", "400", "404", "409", "500", "503"),
        )

    def _add_table_route(
        self,
        resource: apigw.Resource,
        http_method: str,
        action: str,
        role: iam.Role,
        request: str,
        responses: list[apigw.IntegrationResponse],
        codes: Sequence[str],
    ) -> None:
        """``http_method /tasks/{task_id}`` as one DynamoDB ``action`` on the status table."""
        integration = apigw.AwsIntegration(
            service="dynamodb",
            action=action,
            integration_http_method="POST",
            options=apigw.IntegrationOptions(
                credentials_role=role,
                passthrough_behavior=apigw.PassthroughBehavior.NEVER,
                request_templates={_JSON: request},
                integration_responses=responses,
            ),
        )
        resource.add_method(
            http_method,
            integration,
            request_validator=self.validator,
            request_parameters={"method.request.path.task_id": True},
            method_responses=_method_responses(*codes),
            **method_options(self._access),
        )

    def _add_unknown_task_route(self, resource: apigw.Resource) -> None:
        """POST to a path that is not a registered task: 404, as the local dev API answers.

        Registered tasks are static resources, which API Gateway matches before this path
        variable; without it an unknown task type would get a 403 "Missing Authentication
        Token" that sends callers looking for a credentials problem. Any Content-Type passes
        through to the mock, whose only (default) answer is the 404: the type is unknown
        whatever the body, as the local API checks the type first.
        """
        integration = apigw.MockIntegration(
            passthrough_behavior=apigw.PassthroughBehavior.WHEN_NO_MATCH,
            request_templates=_for_json('{"statusCode": 404}'),
            integration_responses=[_json_response("404", templates.unknown_task_response())],
        )
        resource.add_method(
            "POST",
            integration,
            request_validator=self.validator,
            request_parameters={"method.request.path.task_id": True},
            method_responses=_method_responses("404"),
            **method_options(self._access),
        )

    def _add_gateway_responses(self) -> None:
        """Errors raised by API Gateway itself, as JSON a client can act on: the same
        ``{"message", "request_id"}`` shape as every other error (``messageString`` is the
        message quoted and escaped by API Gateway), ``Retry-After`` when the stage throttles."""
        default_body = '{"message": $context.error.messageString, "request_id": "$context.requestId"}'
        self.rest_api.add_gateway_response(
            "Default4xx", type=apigw.ResponseType.DEFAULT_4_XX, templates={_JSON: default_body}
        )
        self.rest_api.add_gateway_response(
            "Default5xx", type=apigw.ResponseType.DEFAULT_5_XX, templates={_JSON: default_body}
        )
        self.rest_api.add_gateway_response(
            "Throttled",
            type=apigw.ResponseType.THROTTLED,
            status_code="429",
            response_headers={"Retry-After": f"'{edge.RETRY_AFTER_SECONDS}'"},
            templates={_JSON: default_body},
        )
        self.rest_api.add_gateway_response(
            "BadRequestBody",
            type=apigw.ResponseType.BAD_REQUEST_BODY,
            status_code="400",
            templates={_JSON: templates.error_body(edge.INVALID_BODY)},
        )
        self.rest_api.add_gateway_response(
            "UnsupportedMediaType",
            type=apigw.ResponseType.UNSUPPORTED_MEDIA_TYPE,
            status_code="415",
            templates={_JSON: templates.error_body(edge.WRONG_MEDIA_TYPE)},
        )

    def _apply_access(self, access: ApiAccess) -> None:
        if isinstance(access, ApiKeyAccess):
            self._add_usage_plan(access)
            acknowledge(
                self,
                "APIG4",
                "The deployer chose API-key access (ApiKeyAccess): callers are identified and "
                "throttled by a usage plan instead of being authorized.",
            )
        if not (
            isinstance(access, AuthorizerAccess)
            and access.authorizer.authorization_type == apigw.AuthorizationType.COGNITO
        ):
            acknowledge(
                self,
                "COG4",
                "Callers are services, not end users: methods use "
                + ("IAM SigV4" if isinstance(access, IamAccess) else "the chosen")
                + " authorization instead of a Cognito user pool authorizer.",
            )

    def _add_usage_plan(self, access: ApiKeyAccess) -> None:
        plan = self.rest_api.add_usage_plan(
            "UsagePlan",
            throttle=apigw.ThrottleSettings(rate_limit=access.rate_limit, burst_limit=access.burst_limit),
            quota=(
                apigw.QuotaSettings(limit=access.quota_per_day, period=apigw.Period.DAY)
                if access.quota_per_day
                else None
            ),
            api_stages=[apigw.UsagePlanPerApiStage(api=self.rest_api, stage=self.rest_api.deployment_stage)],
        )
        self.api_key = self.rest_api.add_api_key("ApiKey")
        plan.add_api_key(self.api_key)

    def _apply_waf(self, web_acl_arn: str | None) -> None:
        if web_acl_arn:
            wafv2.CfnWebACLAssociation(
                self,
                "WebAcl",
                resource_arn=self.rest_api.deployment_stage.stage_arn,
                web_acl_arn=web_acl_arn,
            )
            return
        acknowledge(
            self.rest_api,
            "APIG3",
            "No WAF web ACL was given (ApiOptions.web_acl_arn): requests are authenticated, "
            "schema-validated and stage-throttled; attach an account WAF ACL where required.",
        )


def _ensure_unique_models(tasks: Sequence[TaskSpec]) -> None:
    seen: dict[str, str] = {}
    for spec in tasks:
        name = model_name(spec.name)
        if name in seen:
            raise ValueError(f"tasks {seen[name]!r} and {spec.name!r} map to one model {name}")
        seen[name] = spec.name


def _for_json(value: _T) -> dict[str, _T]:
    return dict.fromkeys(edge.JSON_CONTENT_TYPES, value)


def _method_responses(*codes: str) -> list[apigw.MethodResponse]:
    """Method responses; a 503 declares the ``Retry-After`` header its templates set."""
    return [
        apigw.MethodResponse(
            status_code=code, response_parameters={_RETRY_AFTER: False} if code == "503" else None
        )
        for code in codes
    ]


def _json_response(status: str, body: str, pattern: str | None = None) -> apigw.IntegrationResponse:
    return apigw.IntegrationResponse(
        status_code=status, selection_pattern=pattern, response_templates={_JSON: body}
    )


def _error_responses(table: edge.ErrorTable, success: str, body: str) -> list[apigw.IntegrationResponse]:
    """A service's answers -> HTTP: 2xx is ``success`` with ``body``; a 4xx is answered by
    its error code (``templates.error_response``: a caller fault 4xx, throttling 503, our
    own misconfiguration 500, the default); a 5xx is the service being unavailable."""
    return [
        _json_response(success, body),
        _json_response("500", templates.error_response(table), r"4\d{2}"),
        _json_response("503", templates.error_response(table, server_error=True), r"5\d{2}"),
    ]

"""The REST API: routes per task, models, validators, integrations, templates, access, stage."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("aws_cdk")

from taskworker_infra import templates
from taskworker_infra.api import access_log_format, model_name
from taskworker_infra.schema import to_draft4, without_null_defaults

from taskworker import edge
from tests.infra.helpers import arn, logical_id, only, resources, statements
from tests.infra.sample_app import app as sample_app

TASKS = sorted(sample_app.registry)


def _methods(tpl: dict, http_method: str) -> list[dict]:
    return [m for m in resources(tpl, "AWS::ApiGateway::Method").values()
            if m["HttpMethod"] == http_method]  # fmt: skip


def _path_parts(tpl: dict) -> dict[str, str]:
    return {lid: r["PathPart"] for lid, r in resources(tpl, "AWS::ApiGateway::Resource").items()}


def _post_for(tpl: dict, task: str) -> dict:
    parts = _path_parts(tpl)
    (method,) = [m for m in _methods(tpl, "POST") if parts[m["ResourceId"]["Ref"]] == task]
    return method


def test_regional_api(synthesis) -> None:
    _, api = only(synthesis.templates["Default"], "AWS::ApiGateway::RestApi")
    assert api["EndpointConfiguration"] == {"Types": ["REGIONAL"]}


def test_one_post_resource_per_task_and_a_status_resource(synthesis) -> None:
    tpl = synthesis.templates["Default"]
    assert sorted(_path_parts(tpl).values()) == sorted([*TASKS, "tasks", "{task_id}"])
    posts = _methods(tpl, "POST")
    assert len([m for m in posts if m["Integration"]["Type"] == "AWS"]) == len(TASKS)
    assert len(_methods(tpl, "GET")) == 1


def test_unknown_task_types_get_404_not_a_misleading_403(synthesis) -> None:
    """API Gateway answers paths without a method with 403 Missing Authentication Token."""
    tpl = synthesis.templates["Default"]
    mocks = [m for m in _methods(tpl, "POST") if m["Integration"]["Type"] == "MOCK"]
    assert len(mocks) == 1
    mock = mocks[0]
    assert mock["AuthorizationType"] == "AWS_IAM"
    assert mock["Integration"]["RequestTemplates"] == dict.fromkeys(
        edge.JSON_CONTENT_TYPES, '{"statusCode": 404}'
    )
    assert mock["Integration"]["PassthroughBehavior"] == "WHEN_NO_MATCH", "404 whatever the content type"
    (response,) = mock["Integration"]["IntegrationResponses"]
    assert response["StatusCode"] == "404"
    assert "SelectionPattern" not in response, "the default answer: every mock call is a 404"
    assert response["ResponseTemplates"] == {"application/json": templates.unknown_task_response()}


@pytest.mark.parametrize("task", TASKS)
def test_request_model_is_the_converted_input_schema(synthesis, task: str) -> None:
    tpl = synthesis.templates["Default"]
    models = {m["Name"]: (lid, m) for lid, m in resources(tpl, "AWS::ApiGateway::Model").items()}
    assert len(models) == len(TASKS)
    lid, model = models[model_name(task)]
    assert model["ContentType"] == "application/json"
    expected = without_null_defaults(to_draft4(sample_app.registry[task].input_schema()))
    assert model["Schema"] == expected
    assert _post_for(tpl, task)["RequestModels"] == {ct: {"Ref": lid} for ct in edge.JSON_CONTENT_TYPES}


def test_posts_validate_bodies_and_use_iam(synthesis) -> None:
    tpl = synthesis.templates["Default"]
    validator_id, validator = only(tpl, "AWS::ApiGateway::RequestValidator")
    assert validator["ValidateRequestBody"] is True
    assert validator["ValidateRequestParameters"] is True
    for method in _methods(tpl, "POST") + _methods(tpl, "GET") + _methods(tpl, "DELETE"):
        assert method["RequestValidatorId"] == {"Ref": validator_id}
        assert method["AuthorizationType"] == "AWS_IAM"
        assert "ApiKeyRequired" not in method


@pytest.mark.parametrize("task", TASKS)
def test_enqueue_integration_sends_to_sqs(synthesis, task: str) -> None:
    tpl = synthesis.templates["Default"]
    integration = _post_for(tpl, task)["Integration"]
    assert integration["Type"] == "AWS"
    assert integration["IntegrationHttpMethod"] == "POST"
    assert integration["PassthroughBehavior"] == "NEVER"
    assert integration["Credentials"] == arn(logical_id(tpl, "AWS::IAM::Role", "EnqueueRole"))
    uri = json.dumps(integration["Uri"])
    assert ":sqs:path/" in uri
    assert logical_id(tpl, "AWS::SQS::Queue", "QueuesQueue") in uri
    assert integration["RequestParameters"] == {
        "integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"
    }
    assert integration["RequestTemplates"] == dict.fromkeys(
        edge.JSON_CONTENT_TYPES, templates.enqueue_request(task, "context.identity.userArn")
    )


def test_enqueue_responses_map_202_and_errors(synthesis) -> None:
    tpl = synthesis.templates["Default"]
    method = _post_for(tpl, "report.generate")
    responses = {r["StatusCode"]: r for r in method["Integration"]["IntegrationResponses"]}
    assert set(responses) == {"202", "500", "503"}
    assert "SelectionPattern" not in responses["202"]
    assert responses["202"]["ResponseTemplates"] == {"application/json": templates.enqueue_response()}
    assert responses["500"]["SelectionPattern"] == r"4\d{2}"
    assert responses["500"]["ResponseTemplates"] == {
        "application/json": templates.error_response(edge.ENQUEUE_ERRORS)
    }
    assert responses["503"]["SelectionPattern"] == r"5\d{2}"
    assert sorted(r["StatusCode"] for r in method["MethodResponses"]) == ["202", "400", "500", "503"]
    (unavailable,) = [r for r in method["MethodResponses"] if r["StatusCode"] == "503"]
    assert unavailable["ResponseParameters"] == {"method.response.header.Retry-After": False}
    assert method["RequestParameters"] == {
        "method.request.header.Idempotency-Key": False,
        "method.request.header.X-Correlation-Id": False,
    }


def test_status_route_is_a_dynamodb_get_item(synthesis) -> None:
    tpl = synthesis.templates["Default"]
    (method,) = _methods(tpl, "GET")
    assert _path_parts(tpl)[method["ResourceId"]["Ref"]] == "{task_id}"
    assert method["RequestParameters"] == {"method.request.path.task_id": True}
    integration = method["Integration"]
    assert integration["Credentials"] == arn(logical_id(tpl, "AWS::IAM::Role", "StatusRole"))
    assert ":dynamodb:action/GetItem" in json.dumps(integration["Uri"])
    request = integration["RequestTemplates"]["application/json"]
    table = logical_id(tpl, "AWS::DynamoDB::Table", "Status")
    assert request == {
        "Fn::Join": [
            "",
            [
                '{"TableName": "',
                {"Ref": table},
                '", "ConsistentRead": true, "Key": {"task_id": {"S": "'
                + templates.status_request("X").split('"S": "')[1],
            ],
        ]
    }
    responses = {r["StatusCode"]: r for r in integration["IntegrationResponses"]}
    assert responses["200"]["ResponseTemplates"] == {"application/json": templates.status_response()}
    assert responses["500"]["SelectionPattern"] == r"4\d{2}"
    assert responses["500"]["ResponseTemplates"] == {
        "application/json": templates.error_response(edge.STATUS_ERRORS)
    }
    assert responses["503"]["SelectionPattern"] == r"5\d{2}"
    assert sorted(r["StatusCode"] for r in method["MethodResponses"]) == ["200", "400", "404", "500", "503"]


def test_cancel_route_is_a_conditional_dynamodb_update_item(synthesis) -> None:
    tpl = synthesis.templates["Default"]
    (method,) = _methods(tpl, "DELETE")
    assert _path_parts(tpl)[method["ResourceId"]["Ref"]] == "{task_id}"
    assert method["AuthorizationType"] == "AWS_IAM"
    assert method["RequestParameters"] == {"method.request.path.task_id": True}
    integration = method["Integration"]
    assert integration["PassthroughBehavior"] == "NEVER"
    assert integration["Credentials"] == arn(logical_id(tpl, "AWS::IAM::Role", "CancelRole"))
    assert ":dynamodb:action/UpdateItem" in json.dumps(integration["Uri"])
    request = json.dumps(integration["RequestTemplates"]["application/json"])
    assert logical_id(tpl, "AWS::DynamoDB::Table", "Status") in request
    assert "ReturnValuesOnConditionCheckFailure" in request
    caller = "context.identity.userArn"
    responses = {r["StatusCode"]: r for r in integration["IntegrationResponses"]}
    assert set(responses) == {"202", "500", "503"}
    assert responses["202"]["ResponseTemplates"] == {"application/json": templates.cancel_response()}
    assert responses["500"]["SelectionPattern"] == r"4\d{2}"
    assert responses["500"]["ResponseTemplates"] == {
        "application/json": templates.cancel_error_response(caller)
    }
    assert responses["503"]["SelectionPattern"] == r"5\d{2}"
    codes = sorted(r["StatusCode"] for r in method["MethodResponses"])
    assert codes == ["202", "400", "404", "409", "500", "503"]


def test_cancel_role_may_only_update_status_items_answering_the_updated_attributes(synthesis) -> None:
    tpl = synthesis.templates["Default"]
    role_id = logical_id(tpl, "AWS::IAM::Role", "CancelRole")
    props = resources(tpl, "AWS::IAM::Role")[role_id]
    (trust,) = props["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert logical_id(tpl, "AWS::ApiGateway::RestApi", "Api") in json.dumps(trust["Condition"])
    (policy,) = props["Policies"]
    assert statements(policy["PolicyDocument"]) == [
        {
            "Action": ["dynamodb:UpdateItem"],
            "Condition": {"StringEquals": {"dynamodb:ReturnValues": "UPDATED_NEW"}},
            "Effect": "Allow",
            "Resource": arn(logical_id(tpl, "AWS::DynamoDB::Table", "Status")),
        }
    ]
    assert "ManagedPolicyArns" not in props
    assert not [p for p in resources(tpl, "AWS::IAM::Policy").values()
                if {"Ref": role_id} in p["Roles"]]  # fmt: skip


@pytest.mark.parametrize(
    ("role", "action", "target"),
    [
        ("EnqueueRole", "sqs:SendMessage", ("AWS::SQS::Queue", "QueuesQueue")),
        ("StatusRole", "dynamodb:GetItem", ("AWS::DynamoDB::Table", "Status")),
    ],
)
def test_integration_roles_allow_exactly_one_action(synthesis, role, action, target) -> None:
    tpl = synthesis.templates["Default"]
    role_id = logical_id(tpl, "AWS::IAM::Role", role)
    props = resources(tpl, "AWS::IAM::Role")[role_id]
    (trust,) = props["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "apigateway.amazonaws.com"}
    api = logical_id(tpl, "AWS::ApiGateway::RestApi", "Api")
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    source_arn = json.dumps(trust["Condition"]["ArnLike"]["aws:SourceArn"])
    assert ":execute-api:" in source_arn
    assert api in source_arn, "trusted only when API Gateway acts for this API"
    (policy,) = props["Policies"]
    assert statements(policy["PolicyDocument"]) == [
        {"Action": [action], "Effect": "Allow", "Resource": arn(logical_id(tpl, *target))}
    ]
    assert "ManagedPolicyArns" not in props
    assert not [p for p in resources(tpl, "AWS::IAM::Policy").values()
                if {"Ref": role_id} in p["Roles"]]  # fmt: skip


def test_stage_throttles_and_writes_json_access_logs(synthesis) -> None:
    tpl = synthesis.templates["Default"]
    _, stage = only(tpl, "AWS::ApiGateway::Stage")
    assert stage["StageName"] == "v1"
    assert stage["MethodSettings"] == [
        {"DataTraceEnabled": False, "HttpMethod": "*", "LoggingLevel": "ERROR",
         "MetricsEnabled": True, "ResourcePath": "/*", "ThrottlingBurstLimit": 100,
         "ThrottlingRateLimit": 50}
    ]  # fmt: skip
    log_format = stage["AccessLogSetting"]["Format"]
    assert log_format == access_log_format()
    assert "validationErrorString" not in log_format
    assert '"errorMessage": $context.error.messageString' in log_format  # pre-quoted by API Gateway
    log_fields = json.loads(log_format.replace("$context.error.messageString", '"an \\"error\\""'))
    assert log_fields["requestId"] == "$context.requestId"
    assert log_fields["integrationStatus"] == "$context.integration.status"
    group = logical_id(tpl, "AWS::Logs::LogGroup", "AccessLogs")
    destination = json.dumps(stage["AccessLogSetting"]["DestinationArn"])
    assert ":log-group:" in destination
    assert group in destination
    assert resources(tpl, "AWS::Logs::LogGroup")[group]["RetentionInDays"] == 30


def test_validation_errors_are_reported_as_json(synthesis) -> None:
    tpl = synthesis.templates["Default"]
    responses = {r["ResponseType"]: r for r in resources(tpl, "AWS::ApiGateway::GatewayResponse").values()}
    """Gateway response templates are plain substitutions (no $util to escape with), so the
    validation text, which holds quotes and payload values, stays out of the body."""
    body = responses["BAD_REQUEST_BODY"]["ResponseTemplates"]["application/json"]
    assert responses["BAD_REQUEST_BODY"]["StatusCode"] == "400"
    assert json.loads(body) == {"message": edge.INVALID_BODY, "request_id": "$context.requestId"}
    assert responses["UNSUPPORTED_MEDIA_TYPE"]["StatusCode"] == "415"


@pytest.mark.parametrize("kind", ["DEFAULT_4XX", "DEFAULT_5XX", "THROTTLED"])
def test_gateway_errors_have_the_error_shape(synthesis, kind: str) -> None:
    tpl = synthesis.templates["Default"]
    responses = {r["ResponseType"]: r for r in resources(tpl, "AWS::ApiGateway::GatewayResponse").values()}
    body = responses[kind]["ResponseTemplates"]["application/json"]
    message = 'Invalid "key" \\ / é'  # what API Gateway's messageString quotes and escapes
    rendered = body.replace("$context.error.messageString", json.dumps(message))
    assert json.loads(rendered.replace("$context.requestId", "r-1")) == {
        "message": message,
        "request_id": "r-1",
    }
    if kind == "THROTTLED":
        assert responses[kind]["StatusCode"] == "429"
        assert responses[kind]["ResponseParameters"] == {"gatewayresponse.header.Retry-After": "'1'"}


def test_grant_invoke_is_per_task_for_post_and_wildcard_only_for_status_and_cancel(synthesis) -> None:
    tpl = synthesis.templates["Default"]
    caller = logical_id(tpl, "AWS::IAM::Role", "Caller")
    (policy,) = [p for p in resources(tpl, "AWS::IAM::Policy").values()
                 if p["Roles"] == [{"Ref": caller}]]  # fmt: skip
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == "execute-api:Invoke"
    suffixes = sorted(part["Fn::Join"][1][-1] for part in statement["Resource"])
    assert suffixes == sorted(
        [*(f"/v1/POST/tasks/{t}" for t in TASKS), "/v1/GET/tasks/*", "/v1/DELETE/tasks/*"]
    )


def test_api_key_variant_uses_usage_plan(synthesis) -> None:
    tpl = synthesis.templates["Tuned"]
    for method in _methods(tpl, "POST") + _methods(tpl, "GET") + _methods(tpl, "DELETE"):
        assert method["AuthorizationType"] == "NONE"
        assert method["ApiKeyRequired"] is True
    _, plan = only(tpl, "AWS::ApiGateway::UsagePlan")
    assert plan["Throttle"] == {"BurstLimit": 10, "RateLimit": 5}
    assert plan["Quota"] == {"Limit": 1000, "Period": "DAY"}
    only(tpl, "AWS::ApiGateway::ApiKey")
    _, link = only(tpl, "AWS::ApiGateway::UsagePlanKey")
    assert link["KeyType"] == "API_KEY"


def test_tuned_stage_and_waf(synthesis) -> None:
    tpl = synthesis.templates["Tuned"]
    _, stage = only(tpl, "AWS::ApiGateway::Stage")
    assert stage["StageName"] == "prod"
    assert stage["MethodSettings"][0]["ThrottlingRateLimit"] == 7
    _, waf = only(tpl, "AWS::WAFv2::WebACLAssociation")
    assert waf["WebACLArn"] == "arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/acl/abc"
    assert not resources(synthesis.templates["Default"], "AWS::WAFv2::WebACLAssociation")


def test_account_logging_role_is_not_created_by_default(synthesis) -> None:
    """AWS::ApiGateway::Account is one per account and region: creating it by default would
    overwrite the logging role every other API of the account uses."""
    for tpl in synthesis.templates.values():
        assert not resources(tpl, "AWS::ApiGateway::Account")
        assert not [r for r in resources(tpl, "AWS::IAM::Role").values()
                    if "AmazonAPIGatewayPushToCloudWatchLogs" in json.dumps(r)]  # fmt: skip


def test_account_logging_role_opt_in_is_retained_and_trusts_only_this_account() -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_dynamodb as dynamodb
    from aws_cdk import aws_sqs as sqs
    from taskworker_infra import ApiOptions
    from taskworker_infra.access import IamAccess
    from taskworker_infra.api import TaskApi
    from taskworker_infra.registry import load_task_specs

    from tests.infra.conftest import ROOT, SAMPLE_APP

    stack = cdk.Stack(cdk.App())
    TaskApi(
        stack,
        "Api",
        tasks=load_task_specs(SAMPLE_APP, search_path=ROOT),
        queues={"default": sqs.Queue(stack, "Queue")},
        status_table=dynamodb.Table(
            stack,
            "Status",
            partition_key=dynamodb.Attribute(name="task_id", type=dynamodb.AttributeType.STRING),
        ),
        access=IamAccess(),
        options=ApiOptions(account_logging_role=True),
    )
    tpl = cdk.assertions.Template.from_stack(stack).to_json()
    (account,) = [r for r in tpl["Resources"].values() if r["Type"] == "AWS::ApiGateway::Account"]
    assert account["DeletionPolicy"] == "Retain"
    role_id = account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
    role = tpl["Resources"][role_id]
    assert role["DeletionPolicy"] == "Retain"
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_tables_refuse_requests_without_tls(synthesis) -> None:
    tables = resources(synthesis.templates["Default"], "AWS::DynamoDB::Table")
    assert len(tables) == 2
    for table in tables.values():
        (statement,) = table["ResourcePolicy"]["PolicyDocument"]["Statement"]
        assert statement == {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "dynamodb:*",
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }

"""One synthesized REST API, executed: API Gateway's request path emulated over its template.

It reads the methods, models, integrations and gateway responses from the CloudFormation
template (what would be deployed, not the Python that produced it) and plays a request
through them as API Gateway documents it: route (static path parts before variables),
mapping template chosen by Content-Type (absent means ``application/json``; no match is
415 with ``PassthroughBehavior: NEVER``), body validation against the draft-4 model,
request template, the service's answer, integration response chosen by matching its
selection pattern against the service's HTTP status, response template and overrides.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import jsonschema

from tests.infra import velocity
from tests.infra.helpers import resources


@dataclass
class Answer:
    """What the client gets, and what the integration was asked (``None``: not called)."""

    status: int
    body: str
    headers: dict[str, str]
    integration_request: str | None = None

    def json(self) -> Any:
        return json.loads(self.body)


def sent_message(form: str) -> tuple[str, dict[str, str]]:
    """A SendMessage form as SQS reads it: the body and the String attributes by name."""
    fields = dict(parse_qsl(form, keep_blank_values=True, strict_parsing=True))
    assert fields.pop("Action") == "SendMessage"
    body = fields.pop("MessageBody")
    attributes = {}
    index = 1
    while f"MessageAttribute.{index}.Name" in fields:
        prefix = f"MessageAttribute.{index}"
        assert fields.pop(f"{prefix}.Value.DataType") == "String"
        attributes[fields.pop(f"{prefix}.Name")] = fields.pop(f"{prefix}.Value.StringValue")
        index += 1
    assert not fields, f"unexpected form fields {fields}"
    return body, attributes


def _resolve(value: Any) -> Any:
    """``Fn::Join`` of strings and ``Ref`` (a resource's name is its logical id here)."""
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(_resolve(part) for part in parts)
    if isinstance(value, dict) and "Ref" in value:
        return value["Ref"]
    return value


def _mock_status(request: str) -> int:
    """A mock integration answers the ``statusCode`` of its request, else 200."""
    try:
        return int(json.loads(request)["statusCode"])
    except (ValueError, KeyError, TypeError):
        return 200


def _substitute(template: str, context: dict[str, Any]) -> str:
    """Gateway response templates: plain ``$context.x.y`` substitution, no VTL."""

    def lookup(match: re.Match[str]) -> str:
        value: Any = context
        for part in match.group(1).split("."):
            value = value.get(part, "") if isinstance(value, dict) else ""
        return str(value)

    return re.sub(r"\$context\.([A-Za-z.]+[A-Za-z])", lookup, template)


class Gateway:
    """The REST API of one synthesized stack."""

    def __init__(self, template: dict[str, Any]) -> None:
        self._template = template
        self._paths = self._resource_paths()
        self._methods = {
            (m["HttpMethod"], self._paths[m["ResourceId"]["Ref"]]): m
            for m in resources(template, "AWS::ApiGateway::Method").values()
        }
        self._models = {lid: m["Schema"] for lid, m in resources(template, "AWS::ApiGateway::Model").items()}
        self._gateway_responses = {
            r["ResponseType"]: r for r in resources(template, "AWS::ApiGateway::GatewayResponse").values()
        }

    def _resource_paths(self) -> dict[str, str]:
        parts = resources(self._template, "AWS::ApiGateway::Resource")

        def path(lid: str) -> str:
            parent = parts[lid]["ParentId"]
            prefix = path(parent["Ref"]) if "Ref" in parent else ""
            return f"{prefix}/{parts[lid]['PathPart']}"

        return {lid: path(lid) for lid in parts}

    def _route(self, method: str, path: str) -> tuple[dict[str, Any], dict[str, str]]:
        """The method for ``path`` and its path parameters; static parts win over variables."""
        segments = path.strip("/").split("/")
        candidates = []
        for (http_method, pattern), props in self._methods.items():
            pattern_segments = pattern.strip("/").split("/")
            if http_method != method or len(pattern_segments) != len(segments):
                continue
            params, variables = {}, 0
            for want, got in zip(pattern_segments, segments, strict=True):
                if want.startswith("{"):
                    params[want[1:-1]] = got
                    variables += 1
                elif want != got:
                    break
            else:
                candidates.append((variables, props, params))
        assert candidates, f"no route for {method} {path}"
        _, props, params = min(candidates, key=lambda c: c[0])
        return props, params

    def _gateway_response(self, kind: str) -> Answer:
        response = self._gateway_responses[kind]
        body = response["ResponseTemplates"]["application/json"]
        return Answer(int(response["StatusCode"]), _substitute(body, velocity.context(velocity.Caller())), {})

    def call(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: str = "",
        caller: velocity.Caller | None = None,
        service: tuple[int, str] | Callable[[str], tuple[int, str]] = (200, "{}"),
    ) -> Answer:
        """Play one request; ``service`` is what the integration answers (status, body), or
        a function answering the rendered integration request (a real service's answer)."""
        headers = dict(headers or {})
        props, path_params = self._route(method, path)
        integration = props["Integration"]
        content_type = next(
            (v for k, v in headers.items() if k.lower() == "content-type"), "application/json"
        )
        request_template = integration["RequestTemplates"].get(content_type)
        if request_template is None and integration["PassthroughBehavior"] == "WHEN_NO_MATCH":
            request_template = "$input.body"  # passed through untransformed
        if request_template is None:
            return self._gateway_response("UNSUPPORTED_MEDIA_TYPE")
        model = props.get("RequestModels", {}).get(content_type)
        if model is not None and not self._valid(body, self._models[model["Ref"]]):
            return self._gateway_response("BAD_REQUEST_BODY")
        rendered = velocity.render(
            _resolve(request_template), body=body, headers=headers, path=path_params, caller=caller
        )
        if integration["Type"] == "MOCK":
            service = (_mock_status(rendered.text), "")
        elif callable(service):
            service = service(rendered.text)
        return self._respond(integration, service, rendered.text, headers, path_params, caller)

    def _respond(self, integration: dict[str, Any], service: Any, sent: str,
                 headers: dict[str, str], path_params: dict[str, str],
                 caller: velocity.Caller | None) -> Answer:  # fmt: skip
        status, service_body = service
        responses = integration["IntegrationResponses"]
        chosen = next(
            (
                r
                for r in responses
                if "SelectionPattern" in r and re.fullmatch(r["SelectionPattern"], str(status))
            ),
            next(r for r in responses if "SelectionPattern" not in r),
        )
        out = velocity.render(
            chosen["ResponseTemplates"]["application/json"],
            body=service_body, headers=headers, path=path_params, caller=caller,
        )  # fmt: skip
        final = out.status if out.status is not None else int(chosen["StatusCode"])
        return Answer(final, out.text, out.headers, sent if integration["Type"] != "MOCK" else None)

    @staticmethod
    def _valid(body: str, schema: dict[str, Any]) -> bool:
        try:
            document = json.loads(body)
        except ValueError:
            return False
        return jsonschema.Draft4Validator(schema).is_valid(document)

"""The 2020-12 -> draft-4 converter, on hand-written schemas and on real pydantic output."""

from __future__ import annotations

import copy
from typing import Any

import pytest

pytest.importorskip("aws_cdk")

from taskworker_infra.schema import (
    DRAFT4_URI,
    SchemaConversionError,
    to_draft4,
    without_null_defaults,
)

from tests.infra.sample_app import Mail, ReportRequest

# Keywords that exist only after draft 4 and must never reach API Gateway.
POST_DRAFT4 = {
    "$defs", "const", "prefixItems", "contains", "propertyNames", "if", "then", "else",
    "dependentRequired", "dependentSchemas", "unevaluatedProperties", "unevaluatedItems",
    "$anchor", "$dynamicRef", "$dynamicAnchor", "examples", "format", "$comment", "$id",
    "discriminator", "deprecated", "readOnly", "writeOnly",
}  # fmt: skip


def keywords(schema: Any) -> set[str]:
    """Every key used anywhere as a schema keyword (property names excluded)."""
    found: set[str] = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            found.add(key)
            if key in ("properties", "definitions", "patternProperties", "dependencies"):
                for sub in value.values():
                    found |= keywords(sub)
            else:
                found |= keywords(value)
    elif isinstance(schema, list):
        for item in schema:
            found |= keywords(item)
    return found


def test_root_declares_draft4() -> None:
    assert to_draft4({"type": "object"}) == {"$schema": DRAFT4_URI, "type": "object"}


def test_defs_become_definitions_and_refs_follow() -> None:
    schema = {
        "$defs": {"Period": {"type": "object", "properties": {"m": {"type": "integer"}}}},
        "properties": {"p": {"$ref": "#/$defs/Period"}},
        "type": "object",
    }
    out = to_draft4(schema)
    assert out["definitions"] == {"Period": {"type": "object", "properties": {"m": {"type": "integer"}}}}
    assert out["properties"]["p"] == {"$ref": "#/definitions/Period"}
    assert "$defs" not in out


def test_input_is_not_modified() -> None:
    schema = {"$defs": {"A": {"const": 1}}, "properties": {"a": {"$ref": "#/$defs/A"}}}
    before = copy.deepcopy(schema)
    to_draft4(schema)
    assert schema == before


def test_const_becomes_single_enum() -> None:
    assert to_draft4({"const": "monthly"})["enum"] == ["monthly"]


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"exclusiveMinimum": 0}, {"minimum": 0, "exclusiveMinimum": True}),
        ({"exclusiveMaximum": 10}, {"maximum": 10, "exclusiveMaximum": True}),
        ({"minimum": 5, "exclusiveMinimum": 0}, {"minimum": 5}),
        ({"minimum": 0, "exclusiveMinimum": 3}, {"minimum": 3, "exclusiveMinimum": True}),
        ({"exclusiveMinimum": 2, "minimum": 2}, {"minimum": 2, "exclusiveMinimum": True}),
        ({"maximum": 5, "exclusiveMaximum": 9}, {"maximum": 5}),
        ({"minimum": 1, "exclusiveMinimum": True}, {"minimum": 1, "exclusiveMinimum": True}),
    ],
)
def test_exclusive_bounds_take_draft4_boolean_form(schema: dict[str, Any], expected: dict[str, Any]) -> None:
    out = to_draft4(schema)
    out.pop("$schema")
    assert out == expected


def test_prefix_items_become_tuple_items() -> None:
    out = to_draft4({"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}],
                     "items": False, "minItems": 2})  # fmt: skip
    assert out["items"] == [{"type": "integer"}, {"type": "string"}]
    assert out["additionalItems"] is False


def test_items_schema_after_prefix_items_becomes_additional_items() -> None:
    out = to_draft4({"prefixItems": [{"type": "integer"}], "items": {"type": "string"}})
    assert out["additionalItems"] == {"type": "string"}


def test_ref_siblings_are_kept_effective_with_all_of() -> None:
    out = to_draft4({"$defs": {"A": {"type": "object"}},
                     "properties": {"a": {"$ref": "#/$defs/A", "description": "an A"}}})  # fmt: skip
    assert out["properties"]["a"] == {"allOf": [{"$ref": "#/definitions/A"}], "description": "an A"}


def test_boolean_subschemas() -> None:
    out = to_draft4({"properties": {"anything": True, "nothing": False},
                     "additionalProperties": False})  # fmt: skip
    assert out["properties"] == {"anything": {}, "nothing": {"not": {}}}
    assert out["additionalProperties"] is False


def test_format_and_annotations_are_dropped() -> None:
    out = to_draft4({"type": "string", "format": "date-time", "examples": ["x"],
                     "deprecated": True, "title": "T", "description": "D", "default": "d"})  # fmt: skip
    assert out == {"$schema": DRAFT4_URI, "type": "string", "title": "T", "description": "D",
                   "default": "d"}  # fmt: skip


def test_empty_required_is_dropped() -> None:
    assert "required" not in to_draft4({"type": "object", "required": []})


def test_dependent_required_becomes_dependencies() -> None:
    out = to_draft4({"dependentRequired": {"a": ["b"]}, "dependentSchemas": {"c": {"required": ["d"]}}})
    assert out["dependencies"] == {"a": ["b"], "c": {"required": ["d"]}}


def test_property_named_like_a_keyword_is_not_renamed() -> None:
    schema = {"properties": {"$defs": {"type": "string"}, "x": {"$ref": "#/properties/$defs"}}}
    out = to_draft4(schema)
    assert out["properties"]["$defs"] == {"type": "string"}
    assert out["properties"]["x"] == {"$ref": "#/properties/$defs"}


def test_pointer_into_prefix_items_is_rewritten() -> None:
    out = to_draft4({"prefixItems": [{"type": "integer"}], "properties": {"x": {"$ref": "#/prefixItems/0"}}})
    assert out["properties"]["x"] == {"$ref": "#/items/0"}


def test_escaped_pointer_segments_survive() -> None:
    out = to_draft4({"$defs": {"a/b": {"type": "integer"}}, "items": {"$ref": "#/$defs/a~1b"}})
    assert out["items"] == {"$ref": "#/definitions/a~1b"}


def test_root_reference_stays_root() -> None:
    out = to_draft4({"properties": {"child": {"$ref": "#"}}})
    assert out["properties"]["child"] == {"$ref": "#"}


@pytest.mark.parametrize(
    "ref", ["https://example.com/schema.json", "#/$defs/Missing", "#anchor", "#/properties/a/format"]
)
def test_unconvertible_references_fail_loudly(ref: str) -> None:
    with pytest.raises(SchemaConversionError):
        to_draft4({"properties": {"a": {"type": "string", "format": "x"}, "b": {"$ref": ref}}})


def test_pydantic_schemas_convert_to_pure_draft4() -> None:
    for model in (ReportRequest, Mail):
        out = to_draft4(model.model_json_schema())
        assert not keywords(out) & POST_DRAFT4, model
        assert out["$schema"] == DRAFT4_URI


PAYLOADS = [
    {"account_id": "a", "period": {"start": "2024-01"}},
    {"account_id": "a", "period": {"start": "2024-01", "months": 12}, "kind": "monthly"},
    {"account_id": "a", "period": {"start": "2024-01", "months": 0}},
    {"account_id": "a", "period": {"start": "2024-01", "months": 13}},
    {"account_id": "", "period": {"start": "2024-01"}},
    {"account_id": "a"},
    {"account_id": "a", "period": {"start": "24-1"}},
    {"account_id": "a", "period": {"start": "2024-01"}, "kind": "weekly"},
    {"account_id": "a", "period": {"start": "2024-01"}, "weight": 0},
    {"account_id": "a", "period": {"start": "2024-01"}, "weight": 10},
    {"account_id": "a", "period": {"start": "2024-01"}, "weight": 9.5, "label": None},
    {"account_id": "a", "period": {"start": "2024-01"}, "previous": [{"start": "2023-01"}] * 4},
    {"account_id": "a", "period": {"start": "2024-01"}, "previous": [{"start": "x"}]},
    {"to": "x", "pair": [1, "a"]},
    {"to": "x", "pair": [1, 2]},
    {"to": "x", "pair": [1, "a", 3]},
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_draft4_validation_agrees_with_the_original_schema(payload: dict[str, Any]) -> None:
    """A draft-4 validator on the converted schema accepts exactly what a 2020-12 validator
    accepts on pydantic's schema, for payloads exercising each converted keyword."""
    jsonschema = pytest.importorskip("jsonschema")
    for model in (ReportRequest, Mail):
        original = model.model_json_schema()
        converted = to_draft4(original)
        jsonschema.Draft4Validator.check_schema(converted)
        expected = jsonschema.Draft202012Validator(original).is_valid(payload)
        assert jsonschema.Draft4Validator(converted).is_valid(payload) == expected, model


def test_null_defaults_are_removed_for_cloudformation() -> None:
    schema = {"properties": {"a": {"default": None, "enum": [None, 1]}, "default": {"default": 2}}}
    assert without_null_defaults(schema) == {
        "properties": {"a": {"enum": [None, 1]}, "default": {"default": 2}}
    }

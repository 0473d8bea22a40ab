"""Convert pydantic's JSON Schema (draft 2020-12) into the draft-4 dialect API Gateway accepts.

API Gateway request models only understand JSON Schema draft 4, while pydantic emits 2020-12.
The conversion is deliberately one-directional in strictness: it may *loosen* the schema
(by dropping keywords draft 4 cannot express) but never tightens it, because the consumer
validates every payload with the task's pydantic model anyway. The edge validator is a fast
first filter, not the authority, so it must never reject a payload pydantic would accept for
schema reasons that pydantic does not state.

What happens to each keyword:

* ``$defs`` becomes ``definitions`` and every ``$ref`` JSON pointer is rewritten to match.
* ``prefixItems`` becomes the array form of ``items``; a sibling ``items`` becomes
  ``additionalItems``.
* ``const`` becomes a one-element ``enum``.
* numeric ``exclusiveMinimum`` / ``exclusiveMaximum`` become draft 4's boolean form.
* ``dependentRequired`` / ``dependentSchemas`` become ``dependencies``.
* ``$ref`` with sibling keywords (ignored by draft 4) is wrapped in ``allOf``.
* boolean subschemas become ``{}`` (true) or ``{"not": {}}`` (false).
* ``format`` is dropped: in 2020-12 it is an annotation by default, in draft 4 validators may
  assert it, so keeping it could reject values pydantic accepts.
* anything draft 4 cannot express (``contains``, ``propertyNames``, ``if``/``then``/``else``,
  ``unevaluated*``, ``$dynamicRef`` ...) and non-standard annotations (``examples``,
  ``discriminator``, ``deprecated`` ...) are dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, unquote

__all__ = ["DRAFT4_URI", "SchemaConversionError", "to_draft4", "without_null_defaults"]

DRAFT4_URI = "http://json-schema.org/draft-04/schema#"

Schema = dict[str, Any]

# Draft-4 keywords copied unchanged (their values are not schemas).
_PLAIN_KEYWORDS = frozenset(
    {
        "title",
        "description",
        "default",
        "type",
        "enum",
        "multipleOf",
        "maxLength",
        "minLength",
        "pattern",
        "maxItems",
        "minItems",
        "uniqueItems",
        "maxProperties",
        "minProperties",
        "required",
    }
)
# Keywords whose value is one subschema.
_SCHEMA_KEYWORDS = frozenset({"not", "additionalProperties", "additionalItems"})
# Keywords whose value maps names to subschemas (2020-12 name -> draft-4 name).
_MAP_KEYWORDS = {
    "properties": "properties",
    "patternProperties": "patternProperties",
    "$defs": "definitions",
    "definitions": "definitions",
    "dependentSchemas": "dependencies",
}
# Keywords whose value is a list of subschemas.
_LIST_KEYWORDS = frozenset({"allOf", "anyOf", "oneOf"})
# Keywords where draft 4 accepts a literal boolean instead of a schema.
_BOOLEAN_OK = frozenset({"additionalProperties", "additionalItems"})


class SchemaConversionError(ValueError):
    """The schema uses something that cannot be expressed for API Gateway at all."""


def to_draft4(schema: Mapping[str, Any]) -> Schema:
    """Return a draft-4 copy of a 2020-12 ``schema`` (the input is not modified)."""
    if not isinstance(schema, Mapping):
        raise SchemaConversionError("the root schema must be a JSON object")
    converted = _convert(schema, root=schema)
    return {"$schema": DRAFT4_URI, **converted}


def _convert_subschema(value: Any, root: Mapping[str, Any]) -> Schema:
    """Convert a subschema, turning boolean schemas into their draft-4 object equivalents."""
    if value is True:
        return {}
    if value is False:
        return {"not": {}}
    if not isinstance(value, Mapping):
        raise SchemaConversionError(f"expected a schema, got {value!r}")
    return _convert(value, root)


def _convert(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Schema:
    out: Schema = {}
    for keyword, value in schema.items():
        handler = _HANDLERS.get(keyword)
        if handler is not None:
            handler(out, schema, value, root)
        elif keyword in _PLAIN_KEYWORDS:
            out[keyword] = value
        elif keyword in _SCHEMA_KEYWORDS:
            out[keyword] = (
                value
                if keyword in _BOOLEAN_OK and isinstance(value, bool)
                else _convert_subschema(value, root)
            )
        elif keyword in _MAP_KEYWORDS:
            target = out.setdefault(_MAP_KEYWORDS[keyword], {})
            target.update({name: _convert_subschema(sub, root) for name, sub in value.items()})
        elif keyword in _LIST_KEYWORDS:
            out[keyword] = [_convert_subschema(sub, root) for sub in value]
        # every other keyword is dropped on purpose (see the module docstring)
    if out.get("required") == []:
        del out["required"]  # draft 4 requires at least one element
    return _wrap_ref(out)


def _wrap_ref(out: Schema) -> Schema:
    """Keep ``$ref`` siblings effective: draft 4 ignores every keyword next to ``$ref``."""
    if "$ref" not in out or len(out) == 1:
        return out
    ref = out.pop("$ref")
    return {"allOf": [{"$ref": ref}, *out.pop("allOf", [])], **out}


def _handle_ref(out: Schema, _schema: Mapping[str, Any], value: Any, root: Mapping[str, Any]) -> None:
    out["$ref"] = rewrite_ref(value, root)


def _handle_const(out: Schema, schema: Mapping[str, Any], value: Any, _root: Any) -> None:
    if "enum" not in schema:
        out["enum"] = [value]


def _handle_items(out: Schema, schema: Mapping[str, Any], value: Any, root: Mapping[str, Any]) -> None:
    if "prefixItems" in schema:
        out["additionalItems"] = value if isinstance(value, bool) else _convert_subschema(value, root)
    elif isinstance(value, list):  # already draft-4 tuple form
        out["items"] = [_convert_subschema(sub, root) for sub in value]
    else:
        out["items"] = _convert_subschema(value, root)


def _handle_prefix_items(
    out: Schema, _schema: Mapping[str, Any], value: Any, root: Mapping[str, Any]
) -> None:
    out["items"] = [_convert_subschema(sub, root) for sub in value]


def _handle_exclusive(bound: str, stricter: Callable[[Any, Any], bool]) -> _Handler:
    """Build a handler turning a numeric exclusive bound into draft 4's boolean form."""
    flag = "exclusiveMinimum" if bound == "minimum" else "exclusiveMaximum"

    def handle(out: Schema, schema: Mapping[str, Any], value: Any, _root: Any) -> None:
        if isinstance(value, bool):  # draft-4 input: keep as is
            out[flag] = value
            return
        inclusive = schema.get(bound)
        if inclusive is None or stricter(value, inclusive) or value == inclusive:
            out[bound] = value
            out[flag] = True
        # otherwise the inclusive bound is stricter and is copied as a plain keyword

    return handle


def _handle_minimum(out: Schema, schema: Mapping[str, Any], value: Any, _root: Any) -> None:
    exclusive = schema.get("exclusiveMinimum")
    if isinstance(exclusive, bool) or exclusive is None or value > exclusive:
        out.setdefault("minimum", value)


def _handle_maximum(out: Schema, schema: Mapping[str, Any], value: Any, _root: Any) -> None:
    exclusive = schema.get("exclusiveMaximum")
    if isinstance(exclusive, bool) or exclusive is None or value < exclusive:
        out.setdefault("maximum", value)


def _handle_dependent_required(out: Schema, _schema: Mapping[str, Any], value: Any, _root: Any) -> None:
    deps = out.setdefault("dependencies", {})
    deps.update({name: list(names) for name, names in value.items() if names})


def _handle_dependencies(
    out: Schema, _schema: Mapping[str, Any], value: Any, root: Mapping[str, Any]
) -> None:
    deps = out.setdefault("dependencies", {})
    for name, dep in value.items():
        deps[name] = list(dep) if isinstance(dep, list) else _convert_subschema(dep, root)


_Handler = Callable[[Schema, Mapping[str, Any], Any, Mapping[str, Any]], None]

_HANDLERS: dict[str, _Handler] = {
    "$ref": _handle_ref,
    "const": _handle_const,
    "items": _handle_items,
    "prefixItems": _handle_prefix_items,
    "exclusiveMinimum": _handle_exclusive("minimum", lambda e, i: e > i),
    "exclusiveMaximum": _handle_exclusive("maximum", lambda e, i: e < i),
    "minimum": _handle_minimum,
    "maximum": _handle_maximum,
    "dependentRequired": _handle_dependent_required,
    "dependencies": _handle_dependencies,
}


def rewrite_ref(ref: Any, root: Mapping[str, Any]) -> str:
    """Rewrite a local ``$ref`` so it points at the same subschema after conversion.

    The pointer is walked through the *original* schema so each segment is known to be a
    keyword, a property name or an array index; only keywords are renamed, so a property that
    happens to be called ``$defs`` is left alone.
    """
    if not isinstance(ref, str) or not ref.startswith("#"):
        raise SchemaConversionError(f"only local references can be converted for API Gateway, got {ref!r}")
    fragment = unquote(ref[1:])
    if fragment == "":
        return "#"
    if not fragment.startswith("/"):
        raise SchemaConversionError(f"anchor references are not supported: {ref!r}")
    segments = [_unescape(part) for part in fragment[1:].split("/")]
    return "#/" + "/".join(_escape(part) for part in _translate(segments, root, ref))


def _translate(segments: list[str], root: Mapping[str, Any], ref: str) -> list[str]:
    node: Any = root
    out: list[str] = []
    i = 0
    while i < len(segments):
        keyword = segments[i]
        if not isinstance(node, Mapping) or keyword not in node:
            raise SchemaConversionError(f"reference {ref!r} does not resolve")
        value = node[keyword]
        if keyword in _MAP_KEYWORDS or keyword in _LIST_KEYWORDS or keyword == "prefixItems":
            if i + 1 >= len(segments):
                raise SchemaConversionError(f"reference {ref!r} does not point at a schema")
            name = segments[i + 1]
            out += [_MAP_KEYWORDS.get(keyword, "items" if keyword == "prefixItems" else keyword)]
            out.append(name)
            node = value[int(name)] if isinstance(value, list) else value.get(name)
            i += 2
        elif keyword in _SCHEMA_KEYWORDS or keyword == "items":
            renamed = "additionalItems" if keyword == "items" and "prefixItems" in node else keyword
            out.append(renamed)
            node = value
            i += 1
        else:
            raise SchemaConversionError(f"reference {ref!r} points into dropped keyword {keyword!r}")
    return out


def _unescape(segment: str) -> str:
    return segment.replace("~1", "/").replace("~0", "~")


def _escape(segment: str) -> str:
    return quote(segment.replace("~", "~0").replace("/", "~1"), safe="~$!'()*+,;=:@")


def without_null_defaults(schema: Any) -> Any:
    """Drop ``"default": null`` annotations everywhere.

    CDK (jsii) silently removes ``null`` values from objects on their way into the template, so
    the deployed model would differ from the converted one; removing them here makes the
    difference explicit. ``default`` is an annotation, so validation is unchanged.
    """
    if isinstance(schema, dict):
        return {
            key: without_null_defaults(value)
            for key, value in schema.items()
            if not (key == "default" and value is None)
        }
    if isinstance(schema, list):
        return [without_null_defaults(item) for item in schema]
    return schema

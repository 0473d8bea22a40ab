"""Small readers for synthesized CloudFormation templates (plain dicts)."""

from __future__ import annotations

import shlex
from typing import Any


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """Logical id -> Properties of every resource of type ``kind``."""
    return {
        logical_id: resource.get("Properties", {})
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == kind
    }


def only(template: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    """The single resource of type ``kind`` (fails if there is not exactly one)."""
    found = resources(template, kind)
    assert len(found) == 1, f"expected one {kind}, found {sorted(found)}"
    return next(iter(found.items()))


def logical_id(template: dict[str, Any], kind: str, fragment: str) -> str:
    """The logical id of the one ``kind`` resource whose id contains ``fragment``."""
    matches = [lid for lid in resources(template, kind) if fragment in lid]
    assert len(matches) == 1, f"{kind} ~ {fragment}: {matches}"
    return matches[0]


def arn(lid: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [lid, "Arn"]}


def statements(policy_document: dict[str, Any]) -> list[dict[str, Any]]:
    """Statements with ``Action`` always a sorted list, for exact comparison."""
    out = []
    for statement in policy_document["Statement"]:
        copy = dict(statement)
        actions = copy["Action"]
        copy["Action"] = sorted([actions] if isinstance(actions, str) else actions)
        out.append(copy)
    return out


def dockerfile_copy_sources(dockerfile: str) -> list[str]:
    """The source paths of every COPY/ADD instruction (options such as ``--chown`` left out)."""
    sources = []
    for line in dockerfile.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if words and words[0].upper() in {"COPY", "ADD"}:
            sources += [w for w in words[1:] if not w.startswith("--")][:-1]
    return sources

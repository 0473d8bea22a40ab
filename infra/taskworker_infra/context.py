"""The CDK context of ``cdk.json`` (feature flags), for apps created outside the CLI.

``cdk synth`` hands ``cdk.json``'s context to the app, but ``python app.py`` and a bare
``App()`` in tests do not: without this, the tests would check a template built with
different feature flags from the one deployed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["CDK_JSON", "cdk_context"]

CDK_JSON = Path(__file__).resolve().parents[1] / "cdk.json"


def cdk_context(path: Path = CDK_JSON) -> dict[str, Any]:
    """The ``context`` object of ``cdk.json``."""
    return dict(json.loads(path.read_text(encoding="utf-8")).get("context", {}))

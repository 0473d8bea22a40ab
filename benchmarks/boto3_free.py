"""boto3 stays out of a process that uses no AWS feature.

``import boto3`` costs about a third of a second of every cold start, so taskworker
imports it only when a client is first needed. This checks, in a fresh interpreter, that
neither importing ``examples.reports`` nor handling one healthy event with no
``TASKWORKER_*`` settings loads it, nor botocore's session and client machinery.

The bare ``botocore`` package (under a millisecond) is not checked: powertools' own
``__init__`` imports it to tag user agents, so every powertools consumer has it.
"""

from __future__ import annotations

from benchmarks.fresh import run_snippet
from benchmarks.rows import Row, check
from benchmarks.timing import Budget

NAME = "boto3_free"

_SNIPPET = """
import json, sys
def loaded():
    return sorted(name for name in ("boto3", "botocore.session", "botocore.client") if name in sys.modules)
import examples.reports
after_import = loaded()
from taskworker.testing import lambda_context, sqs_event
event = sqs_event(payload={"account_id": "acme", "month": "2026-01"}, task_type="report.generate")
answer = examples.reports.handler(event, lambda_context(timeout_ms=900_000))
assert answer == {"batchItemFailures": []}, answer
print(json.dumps({"after_import": after_import, "after_event": loaded()}))
"""


def run(budget: Budget) -> list[Row]:
    loaded = run_snippet(_SNIPPET)
    return [
        _absent("after import examples.reports", loaded["after_import"]),
        _absent("after one event, no AWS settings", loaded["after_event"]),
    ]


def _absent(moment: str, modules: list[str]) -> Row:
    return check(NAME, f"boto3 not imported {moment}", not modules, "no boto3, botocore.client")

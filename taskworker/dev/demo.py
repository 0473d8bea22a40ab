"""``taskworker demo``: a scripted tour of the whole pipeline on this machine.

The tour is written for the example app (``examples.reports:app``): its submissions are
that app's tasks and payloads. Another app is refused with a message that says so and
points at ``taskworker dev``, which runs any app. The tour starts the dev stack, submits
tasks over HTTP as a client would (valid ones, one the API rejects with 400, one whose
handler fails for good), waits for them, and prints their statuses, results and the DLQ
entry with its reason.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from taskworker.app import TaskApp
from taskworker.dev.stack import DevStack, DevStackConfig

Printer = Callable[[str], None]

SUBMISSIONS: list[tuple[str, dict[str, Any], str | None]] = [
    ("report.generate", {"account_id": "acme", "month": "2026-10", "detail": 10}, None),
    ("report.generate", {"account_id": "globex", "month": "2026-09"}, "globex-2026-09"),
    ("report.generate", {"account_id": "globex", "month": "2026-09"}, "globex-2026-09"),
    ("report.notify", {"email": "ops@example.com", "subject": "reports ready"}, None),
    ("report.fail", {"account_id": "initech"}, None),
]
INVALID = ("report.generate", {"account_id": "acme", "month": "2026-13"})
EXAMPLE_APP = "examples.reports:app"


class NotTheExampleAppError(ValueError):
    """The tour was asked to run an app that lacks the example's tasks."""


def check_tourable(app: TaskApp) -> None:
    """Refuse, with what to do instead, an app the scripted tour cannot drive."""
    missing = sorted({task_type for task_type, _, _ in SUBMISSIONS} - set(app.registry))
    if missing:
        raise NotTheExampleAppError(
            f"taskworker demo tours the example app ({EXAMPLE_APP}) only: {app.name!r} has no "
            f"{', '.join(missing)}. Run your app with: taskworker dev <module>:<attribute>"
        )


def run_demo(app: TaskApp, config: DevStackConfig, printer: Printer = print, timeout: float = 60.0) -> int:
    """Run the tour; returns the process exit code (0 when everything behaved)."""
    check_tourable(app)
    with DevStack(app, config, printer=lambda line: printer(f"  event  {line}")) as stack:
        printer(stack.banner())
        assert stack.api is not None
        api = stack.api.url
        printer("\n1. Submitting tasks over HTTP")
        task_ids = []
        for task_type, payload, key in SUBMISSIONS:
            status, body = post(api, task_type, payload, key)
            suffix = f" (Idempotency-Key: {key})" if key else ""
            printer(f"  POST /tasks/{task_type}{suffix} -> {status} {json.dumps(body)}")
            task_ids.append(body["task_id"])
        status, body = post(api, *INVALID)
        printer(f"  POST /tasks/{INVALID[0]} month=2026-13 -> {status} {json.dumps(body)}")
        ok = status == 400

        printer("\n2. Waiting for the consumer")
        statuses = wait_for(api, task_ids, timeout)
        printer("\n3. Statuses (GET /tasks/{task_id})")
        for task_id in task_ids:
            printer(f"  {task_id}: {json.dumps(statuses.get(task_id))}")
        ok &= all((statuses.get(t) or {}).get("status") in {"succeeded", "failed"} for t in task_ids)

        printer("\n4. Dead-letter queue")
        dead = dead_letters(stack)
        for entry in dead:
            printer(f"  {entry}")
        ok &= len(dead) == 1
    printer("\nDemo complete." if ok else "\nDemo FAILED: see above.")
    return 0 if ok else 1


def post(api: str, task_type: str, payload: Any, key: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    request = urllib.request.Request(
        f"{api}/tasks/{task_type}", data=json.dumps(payload).encode(), headers=headers, method="POST"
    )
    return _send(request)


def get(api: str, task_id: str) -> tuple[int, Any]:
    return _send(urllib.request.Request(f"{api}/tasks/{task_id}"))


def wait_for(api: str, task_ids: list[str], timeout: float) -> dict[str, Any]:
    """Poll GET /tasks/{id} until every task has a final status or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    statuses: dict[str, Any] = {}
    while time.monotonic() < deadline:
        for task_id in task_ids:
            code, body = get(api, task_id)
            statuses[task_id] = body if code == 200 else None
        if all((s or {}).get("status") in {"succeeded", "failed"} for s in statuses.values()):
            break
        time.sleep(0.2)
    return statuses


def dead_letters(stack: DevStack) -> list[str]:
    sqs = stack.app.clients.sqs
    response = sqs.receive_message(
        QueueUrl=stack.app.settings.dlq_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )
    lines = []
    for message in response.get("Messages", []):
        attributes = {k: v.get("StringValue") for k, v in message.get("MessageAttributes", {}).items()}
        lines.append(
            f"{attributes.get('task_type')} body={message['Body']} -> "
            f"{attributes.get('error_type')}: {attributes.get('error_message')}"
        )
    return lines


def _send(request: urllib.request.Request) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")

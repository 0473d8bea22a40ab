"""One failure-injection wrapper for any boto3-shaped client (real, moto-backed, or a fake).

Error paths of AWS calls are the hardest to reach against a real endpoint, and patching
boto3 tests the patch. :class:`FaultyClient` wraps the client instead and, per operation,
makes upcoming calls fail the way AWS makes them fail:

- ``fail_next("PublishBatch", count=3)``: the next three calls raise ``ClientError``
  with ``code`` and an HTTP status to match (5xx for service faults, 400 for sender
  faults, or ``status=``), built from the client's own exception classes when it has them;
- ``fail_next("GetItem", error=ConnectionResetError())``: raise exactly this error;
- ``fail_next("SendMessageBatch", entries=2)``: the next two *entries* sent through the
  operation are refused in ``Failed`` (``code``, ``sender_fault``) and not performed,
  their neighbours go through; ``entries={"0", "3"}`` refuses those entry ids once each.
  For BatchWriteItem refused items come back in ``UnprocessedItems``.

Everything else passes through unchanged; ``calls`` counts every call by operation name.
It has the same ``fail_next``/``clear_failures`` shape as the in-memory fakes.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

ENTRY_KEYS = {
    "publish_batch": "PublishBatchRequestEntries",
    "send_message_batch": "Entries",
    "delete_message_batch": "Entries",
    "change_message_visibility_batch": "Entries",
}
SERVER_FAULT_CODES = frozenset(
    {"InternalError", "InternalFailure", "ServiceUnavailable", "InternalServerError"}
)


@dataclass(slots=True)
class _Plan:
    calls: int = 0
    entries: int = 0
    entry_ids: set[str] = field(default_factory=set)
    error: BaseException | None = None
    code: str = "InternalError"
    message: str = "injected by taskworker.testing.faults"
    sender_fault: bool = False
    status: int | None = None

    @property
    def spent(self) -> bool:
        return self.calls <= 0 and self.entries <= 0 and not self.entry_ids


class FaultyClient:
    """Wraps ``client``; see the module docstring."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._plans: dict[str, list[_Plan]] = {}
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.failed_entries = 0

    def fail_next(
        self,
        operation: str,
        *,
        count: int = 1,
        entries: int | Iterable[str] | None = None,
        code: str = "InternalError",
        message: str | None = None,
        sender_fault: bool = False,
        status: int | None = None,
        error: BaseException | None = None,
    ) -> None:
        """Plan failures of ``operation`` (``"SendMessageBatch"`` or ``"send_message_batch"``)."""
        method = _method(operation)
        plan = _Plan(code=code, sender_fault=sender_fault, status=status, error=error)
        if message is not None:
            plan.message = message
        if entries is None:
            plan.calls = count
        elif method not in ENTRY_KEYS and method != "batch_write_item":
            raise ValueError(f"{operation} has no entries to fail; fail whole calls instead")
        elif isinstance(entries, int):
            plan.entries = entries
        else:
            plan.entry_ids = {str(e) for e in entries}
        with self._lock:
            self._plans.setdefault(method, []).append(plan)

    def clear_failures(self) -> None:
        with self._lock:
            self._plans.clear()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name.startswith("_") or not callable(attribute) or name in ("get_paginator", "can_paginate"):
            return attribute
        return lambda **kwargs: self._call(name, attribute, kwargs)

    def _call(self, name: str, method: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        with self._lock:
            self.calls[_operation(name)] += 1
            plan = self._next_plan(name)
            if plan is not None and plan.calls > 0:
                plan.calls -= 1
                raise plan.error or self._client_error(name, plan)
        if plan is None:
            return method(**kwargs)
        if name == "batch_write_item":
            return self._unprocess(method, kwargs, plan)
        return self._refuse(name, method, kwargs, plan)

    def _next_plan(self, name: str) -> _Plan | None:
        plans = self._plans.get(name, [])
        while plans and plans[0].spent:
            plans.pop(0)
        return plans[0] if plans else None

    def _split(
        self, items: list[Any], plan: _Plan, entry_id: Callable[[Any], str | None]
    ) -> tuple[list[Any], list[Any]]:
        refused: list[Any] = []
        passed: list[Any] = []
        with self._lock:
            for item in items:
                item_id = entry_id(item)
                if item_id is not None and item_id in plan.entry_ids:
                    plan.entry_ids.discard(item_id)
                    refused.append(item)
                elif plan.entries > 0:
                    plan.entries -= 1
                    refused.append(item)
                else:
                    passed.append(item)
            self.failed_entries += len(refused)
        return refused, passed

    def _refuse(self, name: str, method: Callable[..., Any], kwargs: dict[str, Any], plan: _Plan) -> Any:
        key = ENTRY_KEYS[name]
        refused, passed = self._split(list(kwargs[key]), plan, lambda entry: str(entry.get("Id")))
        response: dict[str, Any] = {"Successful": [], "Failed": []}
        if passed:
            response = dict(method(**{**kwargs, key: passed}))
            response["Successful"] = list(response.get("Successful", []))
            response["Failed"] = list(response.get("Failed", []))
        for entry in refused:
            response["Failed"].append(
                {
                    "Id": entry["Id"],
                    "Code": plan.code,
                    "Message": plan.message,
                    "SenderFault": plan.sender_fault,
                }
            )
        return response

    def _unprocess(self, method: Callable[..., Any], kwargs: dict[str, Any], plan: _Plan) -> Any:
        request_items = kwargs["RequestItems"]
        left: dict[str, list[Any]] = {}
        remaining: dict[str, list[Any]] = {}
        for table, requests in request_items.items():
            refused, passed = self._split(list(requests), plan, lambda request: None)
            if refused:
                left[table] = refused
            if passed:
                remaining[table] = passed
        response: dict[str, Any] = dict(method(RequestItems=remaining)) if remaining else {}
        unprocessed = {t: list(r) for t, r in response.get("UnprocessedItems", {}).items()}
        for table, refused in left.items():
            unprocessed.setdefault(table, []).extend(refused)
        return {**response, "UnprocessedItems": unprocessed}

    def _client_error(self, name: str, plan: _Plan) -> Exception:
        from botocore.exceptions import ClientError

        status = plan.status or (500 if plan.code in SERVER_FAULT_CODES else 400)
        response: Any = {
            "Error": {
                "Code": plan.code,
                "Message": plan.message,
                "Type": "Receiver" if status >= 500 else "Sender",
            },
            "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}, "RetryAttempts": 0},
        }
        exceptions = getattr(self._client, "exceptions", None)
        from_code = getattr(exceptions, "from_code", None)
        cls = from_code(plan.code) if callable(from_code) else ClientError
        error: Exception = cls(response, _operation(name))
        return error


def _method(operation: str) -> str:
    """``SendMessageBatch`` -> ``send_message_batch`` (method names pass unchanged)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower() if operation[:1].isupper() else operation


def _operation(method: str) -> str:
    return "".join(part.capitalize() for part in method.split("_"))

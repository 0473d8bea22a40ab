"""Client wrappers that make AWS batch calls fail on purpose, without patching boto3.

Partial failures of batch calls (an entry refused while its neighbours succeed) are the
hardest path to reach against a real endpoint. :class:`FailingEntries` wraps any boto3
client (real, moto-backed, or a fake) and refuses the first ``count`` entries of its batch
calls the way AWS reports them, in ``Failed``; every other call passes through unchanged.
"""

from __future__ import annotations

from typing import Any

ENTRY_KEYS = {
    "publish_batch": "PublishBatchRequestEntries",
    "send_message_batch": "Entries",
    "delete_message_batch": "Entries",
    "change_message_visibility_batch": "Entries",
}


class FailingEntries:
    """Wraps ``client``; the first ``count`` entries sent through ``operation`` fail.

    Refused entries are not sent at all and come back in ``Failed`` with ``code`` and
    ``sender_fault``, as the service reports an entry it did not accept. ``calls`` counts
    the wrapped operation's calls, ``failed`` the entries refused so far.
    """

    def __init__(
        self,
        client: Any,
        *,
        operation: str = "publish_batch",
        count: int = 1,
        code: str = "InternalError",
        sender_fault: bool = False,
    ) -> None:
        if operation not in ENTRY_KEYS:
            raise ValueError(f"cannot fail entries of {operation!r}; one of {sorted(ENTRY_KEYS)}")
        self._client = client
        self.operation = operation
        self.remaining = count
        self.code = code
        self.sender_fault = sender_fault
        self.calls = 0
        self.failed = 0

    def __getattr__(self, name: str) -> Any:
        if name == self.operation:
            return self._batch_call
        return getattr(self._client, name)

    def _batch_call(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        key = ENTRY_KEYS[self.operation]
        entries = list(kwargs[key])
        refused = entries[: max(0, self.remaining)]
        self.remaining -= len(refused)
        self.failed += len(refused)
        passed = entries[len(refused) :]
        response: dict[str, Any] = {"Successful": [], "Failed": []}
        if passed:
            response = dict(getattr(self._client, self.operation)(**{**kwargs, key: passed}))
            response.setdefault("Successful", [])
            response["Failed"] = list(response.get("Failed", []))
        for entry in refused:
            response["Failed"].append(
                {
                    "Id": entry["Id"],
                    "Code": self.code,
                    "Message": "refused by taskworker.testing.faults.FailingEntries",
                    "SenderFault": self.sender_fault,
                }
            )
        return response

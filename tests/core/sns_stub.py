"""An SNS stand-in that refuses the result events of chosen tasks, for settlement tests."""

from __future__ import annotations

import json
import threading
from typing import Any


class RefusingSNS:
    """PublishBatch that refuses each entry of ``refused`` task ids ``times`` times.

    ``published`` lists the task ids of accepted events in the order they went out.
    """

    def __init__(self, refused: set[str], times: int) -> None:
        self.refused = {task_id: times for task_id in refused}
        self.published: list[str] = []
        self._lock = threading.Lock()

    def publish_batch(self, **call: Any) -> dict[str, Any]:
        response: dict[str, list[dict[str, Any]]] = {"Successful": [], "Failed": []}
        with self._lock:
            for entry in call["PublishBatchRequestEntries"]:
                task_id = json.loads(entry["Message"])["task_id"]
                if self.refused.get(task_id, 0) > 0:
                    self.refused[task_id] -= 1
                    response["Failed"].append({"Id": entry["Id"], "Code": "Throttled", "SenderFault": False})
                else:
                    self.published.append(task_id)
                    response["Successful"].append({"Id": entry["Id"], "MessageId": task_id})
        return response

"""Recent tasks from the status table: one bounded Scan, filtered and sorted here.

DynamoDB's Scan reads items in hash order, not by time, and its ``Limit`` counts items
read before any filter. So the console reads one page of at most ``limit`` items (one
call, bounded read capacity), then filters by status and type and sorts newest first on
its side: on a table with more items than ``limit`` it shows the newest *of those read*.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from taskworker.status import TaskStatus

SCAN_LIMIT = 200


@dataclass(frozen=True, slots=True)
class TaskRow:
    status: TaskStatus
    duration_seconds: float | None
    """From start to finish, or to now while it runs; ``None`` when a time is unreadable."""


@dataclass(frozen=True, slots=True)
class TaskList:
    rows: list[TaskRow]
    scanned: int
    more: bool
    """The table holds more items than were read."""


def recent_tasks(
    dynamodb: Any,
    table: str,
    *,
    status: str | None = None,
    task_type: str | None = None,
    limit: int = SCAN_LIMIT,
) -> TaskList:
    response = dynamodb.scan(TableName=table, Limit=limit)
    items = [TaskStatus.from_item(item) for item in response.get("Items", [])]
    chosen = [
        item
        for item in items
        if (not status or item.status == status) and (not task_type or item.task_type == task_type)
    ]
    chosen.sort(key=lambda item: item.updated_at, reverse=True)
    return TaskList(
        [TaskRow(item, duration(item)) for item in chosen],
        scanned=len(items),
        more="LastEvaluatedKey" in response,
    )


def duration(item: TaskStatus) -> float | None:
    start = _parse(item.started_at)
    end = _parse(item.finished_at) if item.finished_at else datetime.now(start.tzinfo) if start else None
    return None if start is None or end is None else max(0.0, (end - start).total_seconds())


def _parse(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None

"""The workload every Lambda contestant runs: a trivial task on a small pydantic model.

It imports pydantic and nothing else, so the baselines can use it without importing
taskworker (which would spoil their import-cost and cold-start figures). The task does
nothing, so what is measured is each framework's cost per message.
"""

from __future__ import annotations

from pydantic import BaseModel

TASK_TYPE = "bench.touch"


class Touch(BaseModel):
    """A payload of the size an API typically enqueues: an id, a number, a short list."""

    item_id: str
    quantity: int
    tags: list[str]


def touch(item: Touch) -> None:
    """The trivial task body shared by taskworker and both baselines."""


def payload(event: int, index: int) -> dict[str, object]:
    """The body of record ``index`` of event ``event``: unique, valid for :class:`Touch`."""
    return {"item_id": f"item-{event}-{index}", "quantity": index, "tags": ["bench", "sqs"]}

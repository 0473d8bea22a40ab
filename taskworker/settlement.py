"""Settlement: what each message of a finished batch becomes, decided once, in the core.

A runtime must not decide a message's fate from its dispatch outcome alone: the
``after_batch`` chain (dead-lettering, result events, status, metrics) can still turn a
success into a requeue (an event that could not be published) or a permanent failure into
a retry (a DLQ that did not acknowledge the copy). So the core runs that chain first and
only then computes, per message:

- ``delete``: the message is done (Lambda: not reported; worker: DeleteMessageBatch);
- ``delay``: otherwise, when it should be visible again (``None``: leave its timeout);
- ``group_proceeds``: whether later messages of its FIFO group may go on.

The FIFO rule is one rule for every runtime: a group goes on past a message only when that
message is done. Once a message of a group is not done, every later message of that group
in the same batch is held too (visible again at once, so it follows the held one in
order), even if it already succeeded: it runs again and idempotency replays its result.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from taskworker.messages import TaskMessage
from taskworker.outcomes import ErrorInfo, RetryLater, TaskResult

GIVE_BACK_NOW = 0.0
"""Visibility of a message held behind its group: SQS keeps FIFO order while the group's
earlier message is in flight, so it can be visible again at once."""
GROUP_HELD = ErrorInfo("GroupHeld", "not started: an earlier message of its FIFO group is not done")


class Settlement(NamedTuple):
    """One message's final fate, as the runtime must apply it.

    Immutable like a frozen dataclass, at a quarter of its cost to build: one is built per
    message of every batch.
    """

    result: TaskResult
    delete: bool
    delay: float | None
    group_proceeds: bool


def held_behind_group(message: TaskMessage) -> Settlement:
    """A message never started because an earlier one of its FIFO group is not done."""
    result = TaskResult(message, RetryLater(GROUP_HELD, GIVE_BACK_NOW))
    return Settlement(result, delete=False, delay=GIVE_BACK_NOW, group_proceeds=False)


def decide(results: Sequence[TaskResult]) -> list[Settlement]:
    """The settlement of each result, in order, with the FIFO rule applied."""
    held_groups: set[str] = set()
    settlements: list[Settlement] = []
    for result in results:
        group = result.message.group_id
        if group is not None and group in held_groups:
            settlements.append(Settlement(result, delete=False, delay=GIVE_BACK_NOW, group_proceeds=False))
            continue
        done = result.done
        if not done and group is not None:
            held_groups.add(group)
        delay = None if done else result.visibility_delay()
        settlements.append(Settlement(result, delete=done, delay=delay, group_proceeds=done))
    return settlements

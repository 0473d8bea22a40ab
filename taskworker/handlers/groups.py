"""FIFO message groups in the worker: in order and one at a time within a group.

SQS hands out several messages of one group in a single receive, in order, and delivers
no more of that group while any is in flight. The worker must keep that promise while it
runs tasks in parallel: messages of one group run one after another, different groups run
side by side. Whether a group may go on is not decided here but by the core's one FIFO
rule (:mod:`taskworker.settlement`, the same in Lambda), after ``finish_batch``: when a
message is not done (it will be retried, or its result event is still owed), the group's
later messages are given back unstarted, so that nothing overtakes it.
Messages without a group (standard queues) are always ready.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable

from taskworker.messages import TaskMessage


class GroupOrder:
    """Decides which held messages may start now; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, deque[TaskMessage]] = {}
        self._busy: set[str] = set()

    def admit(self, messages: Iterable[TaskMessage]) -> list[TaskMessage]:
        """Take newly received messages; return those that may start at once."""
        ready: list[TaskMessage] = []
        with self._lock:
            for message in messages:
                group = message.group_id
                if group is None:
                    ready.append(message)
                elif group in self._busy:
                    self._waiting.setdefault(group, deque()).append(message)
                else:
                    self._busy.add(group)
                    ready.append(message)
        return ready

    def finished(self, message: TaskMessage, *, proceed: bool) -> tuple[list[TaskMessage], list[TaskMessage]]:
        """``message`` is done running: (messages to start now, messages to give back).

        ``proceed`` is false when the message will come back (a retry); then its group's
        waiting messages are given back too, so they cannot overtake it.
        """
        group = message.group_id
        if group is None:
            return [], []
        with self._lock:
            waiting = self._waiting.pop(group, deque())
            if not proceed:
                self._busy.discard(group)
                return [], list(waiting)
            if not waiting:
                self._busy.discard(group)
                return [], []
            following = waiting.popleft()
            if waiting:
                self._waiting[group] = waiting
            return [following], []

    def drain(self) -> list[TaskMessage]:
        """Every message still waiting for its turn (the worker is stopping)."""
        with self._lock:
            drained = [message for waiting in self._waiting.values() for message in waiting]
            self._waiting.clear()
            return drained

"""Keeping held messages invisible while their tasks run: leases and the heartbeat.

A message received with visibility timeout ``V`` reappears after ``V`` seconds, and another
consumer would run it a second time. So the worker records a *lease* for every message it
holds and a heartbeat thread pushes the visibility of the leases close to expiry forward
with ChangeMessageVisibilityBatch, until the task is settled or its lease reaches its
limit: the task's ``timeout`` (or the worker's default) plus margins. A task that runs past
its limit is presumed hung and its message is allowed to return. SQS itself caps a message
at 12 hours from its receive.

Locks tied to a message's visibility (idempotency's in-progress locks) ride along: each
:class:`LockRenewal` is told, on every beat, how long the messages it may hold locks for
stay invisible, so a lock lives exactly as long as its message's lease and runs out with
it when the worker dies.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from taskworker.handlers.visibility import change_visibility
from taskworker.log import SupportsLogging
from taskworker.messages import TaskMessage
from taskworker.retry import MAX_VISIBILITY_SECONDS

Clock = Callable[[], float]


@dataclass(slots=True)
class Lease:
    """One held message: until when it is invisible, and how far it may be extended."""

    message: TaskMessage
    received_at: float
    visible_until: float
    limit: float
    warned: bool = False
    started: bool = False
    renewed_until: float = 0.0
    """``visible_until`` as last passed to the lock renewals (0: never)."""

    @property
    def handle(self) -> str:
        assert self.message.receipt_handle is not None
        return self.message.receipt_handle


class Leases:
    """The messages a worker holds, by receipt handle; thread-safe.

    ``lock`` is held by the heartbeat for a whole beat, and by whoever settles a message
    while removing its lease, so a late extension never overrides a retry delay.
    """

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self._leases: dict[str, Lease] = {}

    def __len__(self) -> int:
        return len(self._leases)

    def add(
        self, messages: Iterable[TaskMessage], received_at: float, visibility: float, limit: float
    ) -> None:
        """Record messages received at ``received_at`` (taken *before* the receive call)."""
        with self.lock:
            for message in messages:
                if message.receipt_handle:
                    lease = Lease(message, received_at, received_at + visibility, received_at + limit)
                    self._leases[message.receipt_handle] = lease

    def start(self, message: TaskMessage, budget: float) -> None:
        """The task starts now: its lease may run ``budget`` seconds from here."""
        with self.lock:
            lease = self._leases.get(message.receipt_handle or "")
            if lease is not None:
                lease.limit = self.clock() + budget
                lease.started = True

    def lock_seconds(self, message: TaskMessage) -> float | None:
        """Seconds ``message`` stays invisible as far as this worker knows (``None``: not
        held). The caller locks for that long, so renewals skip the lease until its
        visibility changes."""
        with self.lock:
            lease = self._leases.get(message.receipt_handle or "")
            if lease is None:
                return None
            lease.renewed_until = lease.visible_until
            return max(0.0, lease.visible_until - self.clock())

    def remove(self, messages: Iterable[TaskMessage]) -> None:
        with self.lock:
            for message in messages:
                self._leases.pop(message.receipt_handle or "", None)

    def unrenewed(self) -> list[Lease]:
        """Started leases whose visibility changed since the lock renewals last heard of it."""
        with self.lock:
            return [
                lease
                for lease in self._leases.values()
                if lease.started and lease.renewed_until != lease.visible_until
            ]

    def due(self, horizon: float) -> list[Lease]:
        """Leases whose visibility ends within ``horizon`` seconds."""
        now = self.clock()
        with self.lock:
            return [lease for lease in self._leases.values() if lease.visible_until - now <= horizon]


@runtime_checkable
class LockRenewal(Protocol):
    """Something that holds locks which must live exactly as long as a message's lease."""

    @property
    def renew_every(self) -> float:
        """The longest pause between two renewals that its locks can bear."""
        ...

    def attach(self, leases: Leases) -> None:
        """From now on, ``leases`` tells how long each held message stays invisible."""
        ...

    def renew(self, held: Sequence[tuple[TaskMessage, float]]) -> None:
        """Each ``(message, seconds)``: the message stays invisible ``seconds`` from now."""
        ...


class Heartbeat:
    """Extends due leases in batches, every ``interval`` seconds, on its own thread.

    After each beat, ``renewals`` hear about every started lease whose visibility changed
    since they last did (and about new ones), so their locks follow the lease.
    """

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        leases: Leases,
        *,
        visibility_timeout: float,
        logger: SupportsLogging,
        renewals: Sequence[LockRenewal] = (),
    ) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._leases = leases
        self._visibility = visibility_timeout
        self._renewals = list(renewals)
        self.interval = max(0.1, min([visibility_timeout / 4, *(r.renew_every for r in self._renewals)]))
        for renewal in self._renewals:
            renewal.attach(leases)
        self._logger = logger
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="taskworker-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.beat()
                self.renew_locks()
            except Exception as exc:  # the heartbeat must outlive any single bad call
                self._logger.log(40, "visibility heartbeat failed", extra={"error": repr(exc)})

    def renew_locks(self) -> int:
        """Tell the renewals about started leases whose visibility they have not heard of.

        A lease whose extension failed keeps its old ``visible_until``, so its lock is not
        renewed past the moment its message may be delivered again.
        """
        if not self._renewals:
            return 0
        with self._leases.lock:
            now = self._leases.clock()
            changed = self._leases.unrenewed()
            held = [(lease.message, max(0.0, lease.visible_until - now)) for lease in changed]
            for lease in changed:
                lease.renewed_until = lease.visible_until
        if not held:
            return 0
        for renewal in self._renewals:
            try:
                renewal.renew(held)
            except Exception as exc:
                self._logger.log(
                    30, "could not renew locks; they run out with the leases", extra={"error": repr(exc)}
                )
        return len(held)

    def beat(self) -> int:
        """Extend every lease that would expire before the next beat or two; returns how many."""
        with self._leases.lock:
            now = self._leases.clock()
            changes: dict[str, tuple[Lease, float]] = {}
            for lease in self._leases.due(horizon=self._visibility / 2):
                seconds = self._extension(lease, now)
                if seconds is not None:
                    changes[lease.handle] = (lease, seconds)
            if not changes:
                return 0
            failed = set(
                change_visibility(self._sqs, self._queue_url, [(h, s) for h, (_, s) in changes.items()])
            )
            for handle, (lease, seconds) in changes.items():
                if handle not in failed:
                    lease.visible_until = now + seconds
            if failed:
                self._logger.log(30, "could not extend visibility", extra={"messages": len(failed)})
            return len(changes) - len(failed)

    def _extension(self, lease: Lease, now: float) -> float | None:
        """Seconds of visibility to set from now, or ``None`` once the lease is used up."""
        cap = min(lease.limit, lease.received_at + MAX_VISIBILITY_SECONDS - 1) - now
        seconds = math.floor(min(self._visibility, cap))  # SQS takes whole seconds; 0 would release
        if seconds < 1 or seconds <= lease.visible_until - now:
            if not lease.warned:
                lease.warned = True
                self._logger.log(
                    30,
                    "task exceeded its time limit; its message will be delivered again",
                    extra={"task_id": lease.message.task_id, "task_type": lease.message.task_type},
                )
            return None
        return seconds

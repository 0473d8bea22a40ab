"""The container worker: a long-polling SQS consumer that feeds the one dispatcher.

It owns queue mechanics only; every decision about a task is the core's:

1. a *receiver* thread long-polls the queue ten messages at a time, one receive ahead
   of the slots: it holds at most ``concurrency + 10`` messages, starts what it has slots
   for, and keeps the rest waiting for a slot (a waiting message's time limit starts when
   its task does; the heartbeat keeps every held message invisible);
2. each message becomes a :class:`~taskworker.messages.TaskMessage` and runs in the pool
   (:mod:`~taskworker.handlers.worker_pool`) through the core's ``dispatch``, FIFO
   groups one message at a time (:mod:`~taskworker.handlers.groups`);
3. the :mod:`heartbeat <taskworker.handlers.heartbeat>` keeps held messages invisible
   up to each task's time limit, so a long task is not delivered twice;
4. finished results are settled in batches (:mod:`~taskworker.handlers.settle`): the
   core's ``finish_batch`` decides each message's settlement, the settler applies it
   (DeleteMessageBatch, or ChangeMessageVisibilityBatch with its delay), and only then
   may a FIFO group's next message start.

SIGTERM or SIGINT stops it gracefully: no more receives, unstarted messages go back at
once, running tasks get ``grace_seconds`` to finish; a second signal exits at once. The
signal handler only sets a flag (a handler that logs can re-enter a module that is half
imported, such as the logger's own on its first line); the main loop logs and stops. A
long poll still in flight is waited for only briefly, and only when the stop gave
messages back: the receiver gives back (visibility 0) whatever that last poll returns.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from types import FrameType
from typing import TYPE_CHECKING, Any, Literal

from taskworker.aws.direct import DirectSQS, direct_sqs
from taskworker.errors import TaskworkerError
from taskworker.handlers.groups import GroupOrder
from taskworker.handlers.heartbeat import Heartbeat, Leases, LockRenewal
from taskworker.handlers.settle import Settler
from taskworker.handlers.visibility import change_visibility, max_receive_count
from taskworker.handlers.worker_pool import PoolKind, ProcessTaskPool, TaskPool, make_pool
from taskworker.log import task_identity
from taskworker.messages import SYSTEM_ATTRIBUTES_READ, TaskMessage
from taskworker.queues import DEFAULT_QUEUE

if TYPE_CHECKING:
    from taskworker.app import TaskApp
    from taskworker.aws import Clients
    from taskworker.dispatch import Dispatcher
    from taskworker.settings import Settings
    from taskworker.settlement import Settlement

SqsTransport = Literal["boto3", "direct"]

MAX_RECEIVE = 10
"""ReceiveMessage's limit per call."""

DEFAULT_MAX_TASK_SECONDS = 12 * 3600.0
"""How long a task without a ``timeout`` may hold its message: SQS's own 12-hour cap."""

SIGNAL_POLL_SECONDS = 0.1
"""How often the main loop looks at the flag the signal handler sets."""

LAST_POLL_SECONDS = 3.0
"""How long a stop that held messages waits, at most, for the receiver's last long poll."""


class WorkerConfigError(TaskworkerError):
    """The worker cannot start: no queue URL, an unreachable queue, bad options."""


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """How a worker runs; every field is also a ``taskworker worker`` option."""

    pool: PoolKind = "thread"
    concurrency: int | None = None
    """Tasks run at once; default 16 threads, or one process per CPU."""
    wait_time_seconds: int = 20
    """Long-poll wait of each ReceiveMessage (0-20)."""
    visibility_timeout: int = 30
    """Visibility set on receive and on every heartbeat extension."""
    max_task_seconds: float = DEFAULT_MAX_TASK_SECONDS
    """Time limit of tasks that declare no ``timeout``."""
    grace_seconds: float = 30.0
    """How long running tasks may finish after SIGTERM."""
    linger_seconds: float = 0.05
    """How long a finished task waits for others to share its delete request."""
    exit_when_empty: bool = False
    """Stop (gracefully) once a receive finds the queue empty and nothing is held."""
    app_path: str | None = None
    """``module:attribute`` of the app; the process pool imports it in its children."""
    sqs_transport: SqsTransport = "boto3"
    """``"direct"`` sends the worker's receives and deletes without botocore's request
    pipeline (:mod:`taskworker.aws.direct`), about half the CPU per trivial task."""

    def resolved_concurrency(self) -> int:
        if self.concurrency is not None:
            if self.concurrency < 1:
                raise WorkerConfigError(f"concurrency must be at least 1, not {self.concurrency}")
            return self.concurrency
        return 16 if self.pool == "thread" else os.cpu_count() or 1

    def check(self) -> None:
        if self.pool not in ("thread", "process"):
            raise WorkerConfigError(f"pool must be 'thread' or 'process', not {self.pool!r}")
        if not 0 <= self.wait_time_seconds <= 20:
            raise WorkerConfigError("wait time must be between 0 and 20 seconds")
        if self.sqs_transport not in ("boto3", "direct"):
            raise WorkerConfigError(f"sqs transport must be 'boto3' or 'direct', not {self.sqs_transport!r}")
        if not 1 <= self.visibility_timeout <= 43_200:
            raise WorkerConfigError("visibility timeout must be between 1 and 43200 seconds")
        self.resolved_concurrency()


class Worker:
    """Consumes one queue with one core until stopped; see the module docstring.

    It takes the core (the app's dispatcher: registry, settings, middleware, logger) and
    the clients, not the app; :meth:`for_app` builds one from a :class:`TaskApp`.
    """

    def __init__(
        self,
        core: Dispatcher,
        clients: Clients,
        options: WorkerOptions | None = None,
        *,
        queue_url: str | None = None,
    ) -> None:
        self.core = core
        self.clients = clients
        self.settings = settings = core.settings
        self.options = options or WorkerOptions()
        self.options.check()
        url = queue_url or settings.queue_url
        if not url:
            raise WorkerConfigError("no queue URL: set TASKWORKER_QUEUE_URL or pass --queue-url")
        self.queue_url = url
        self.concurrency = self.options.resolved_concurrency()
        self.stats: Counter[str] = Counter()
        self.leases = Leases()
        self._groups = GroupOrder()
        self._cond = threading.Condition()
        self._held = 0
        """Messages received and not yet settled or given back (running, waiting, FIFO)."""
        self._waiting: deque[TaskMessage] = deque()
        """Ready messages received ahead of a free slot; each starts when a slot frees."""
        self._running: dict[str, tuple[TaskMessage, Future[Any] | None]] = {}
        """Tasks reserved or submitted and not yet handed to the settler (``None``: being
        submitted right now). Shutdown waits for this to empty before the last settle."""
        self._stopping = threading.Event()
        self._signal: int | None = None
        """Set by the signal handler, and nothing else: the main loop acts on it."""
        self._started = threading.Event()
        self._abandoned: list[TaskMessage] = []
        self._overdue_at: dict[str, tuple[float, TaskMessage]] = {}
        """Thread-pool tasks with a ``timeout``: when each must have finished."""
        self._let_go: set[str] = set()
        """Tasks that ran past their timeout on a thread: their message was given back."""
        self._pool: TaskPool | None = None
        self._settler: Settler | None = None
        self._heartbeat: Heartbeat | None = None
        self._receiver: threading.Thread | None = None
        self._sqs: Any = None

    @classmethod
    def for_app(
        cls, app: TaskApp, options: WorkerOptions | None = None, *, queue_url: str | None = None
    ) -> Worker:
        """A worker for ``app``'s core and clients; the process pool learns where to import
        the app from (``module:attribute``) here, the one thing it needs of the app itself."""
        from taskworker.handlers.worker_pool import find_app_path

        options = options or WorkerOptions()
        if options.pool == "process" and not options.app_path:
            options = dataclasses.replace(options, app_path=find_app_path(app))
        return cls(app.dispatcher, app.clients, options, queue_url=queue_url)

    @property
    def sqs(self) -> Any:
        """The client the worker consumes with: the app's, or its direct form (first asked
        for by ``run`` before any thread starts)."""
        if self._sqs is None:
            self._sqs = self._consuming_client()
        return self._sqs

    def _consuming_client(self) -> Any:
        client = self.clients.sqs
        if self.options.sqs_transport == "boto3":
            return client
        direct, reason = direct_sqs(client)
        if reason:
            self._log(
                30, "the direct SQS transport cannot be used; consuming through the client", reason=reason
            )
        return direct

    @property
    def abandoned(self) -> list[TaskMessage]:
        """Messages whose tasks were still running when the grace period ended."""
        return list(self._abandoned)

    @property
    def settled(self) -> int:
        """Finished tasks whose messages were deleted or given back (progress, benchmarks)."""
        return self._settler.settled if self._settler is not None else 0

    def wait_started(self, timeout: float | None = None) -> bool:
        """Block until the worker polls (for tests and embedding)."""
        return self._started.wait(timeout)

    def stop(self) -> None:
        """Begin a graceful stop; :meth:`run` returns once it is complete."""
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()

    # ------------------------------------------------------------------ lifecycle

    def run(self) -> int:
        """Consume until stopped; returns the process exit code (0 after a graceful stop)."""
        self._setup()
        self._receiver = threading.Thread(target=self._receive_loop, name="taskworker-receive", daemon=True)
        self._receiver.start()
        restore = self._install_signal_handlers()
        transport = "direct" if isinstance(self.sqs, DirectSQS) else "boto3"
        self._log(
            20,
            "worker started",
            pool=self.options.pool,
            concurrency=self.concurrency,
            sqs_transport=transport,
        )
        self._started.set()
        try:
            while not self._stopping.wait(SIGNAL_POLL_SECONDS):
                self._let_go_overdue()
                if self._signal is not None:
                    self._log(20, "signal received: stopping gracefully", signal=self._signal)
                    self.stop()
            return self._shutdown()
        finally:
            restore()

    def _setup(self) -> None:
        limit = self._max_receives()
        self._pool = make_pool(
            self.options.pool,
            self.core,
            concurrency=self.concurrency,
            max_receives=limit,
            app_path=self.options.app_path,
        )
        if isinstance(self._pool, ProcessTaskPool):
            self._pool.warm_up()
        self._settler = Settler(
            self.core,
            self.sqs,
            self.queue_url,
            self.leases,
            on_settled=self._on_settled,
            linger=self.options.linger_seconds,
        )
        self._heartbeat = Heartbeat(
            self.sqs,
            self.queue_url,
            self.leases,
            visibility_timeout=self.options.visibility_timeout,
            logger=self.core.logger,
            renewals=[m for m in self.core.middleware if isinstance(m, LockRenewal)],
        )
        self._settler.start()
        self._heartbeat.start()

    def _max_receives(self) -> int | None:
        """The redrive limit (one GetQueueAttributes at start, which also checks the queue)."""
        configured = self.settings.max_receive_count
        if configured is not None:
            return configured
        try:
            return max_receive_count(self.sqs, self.queue_url)
        except Exception as exc:
            raise WorkerConfigError(f"cannot read queue {self.queue_url}: {exc}") from exc

    def _shutdown(self) -> int:
        assert self._settler is not None
        assert self._heartbeat is not None
        assert self._pool is not None
        deadline = time.monotonic() + self.options.grace_seconds
        self._log(20, "stopping: no more receives; running tasks may finish", running=len(self._running))
        held_at_stop = self._held > 0
        self._give_back_unstarted()
        with self._cond:
            while self._running and time.monotonic() < deadline:
                self._cond.wait(min(0.2, max(0.0, deadline - time.monotonic())))
            self._abandoned = [message for message, _ in self._running.values()]
        if self._abandoned:
            self._log(30, "grace period over; giving back tasks still running", messages=len(self._abandoned))
            self._release(self._abandoned)
        self._settler.close()
        self._heartbeat.stop()
        if held_at_stop:
            self._await_last_poll()
        self._pool.shutdown(wait=not self._abandoned)
        self._log(20, "worker stopped", **self.stats)
        return 0

    def _await_last_poll(self) -> None:
        """Let the receiver give back what its last long poll takes, before the process exits.

        The messages this stop gave back or deleted (freeing their FIFO group) are what a
        poll still in flight takes next; exiting at once would leave them invisible for a
        whole visibility timeout. A poll that takes messages returns at once, so this wait
        is short; an idle one is waited for at most ``LAST_POLL_SECONDS``. A worker that
        held nothing skips it, so stopping an idle worker stays immediate.
        """
        if self._receiver is not None:
            self._receiver.join(min(LAST_POLL_SECONDS, self.options.wait_time_seconds + 1.0))

    def _give_back_unstarted(self) -> None:
        """FIFO messages waiting for their turn, and submitted tasks not yet started."""
        with self._cond:
            unstarted = self._groups.drain() + list(self._waiting)
            self._waiting.clear()
            for handle, (message, future) in list(self._running.items()):
                if future is not None and future.cancel():
                    del self._running[handle]
                    unstarted.append(message)
            self._held -= len(unstarted)
        self._release(unstarted)

    def _release(self, messages: Sequence[TaskMessage]) -> None:
        """Make messages visible again at once, synchronously (used while stopping)."""
        if not messages:
            return
        self.leases.remove(messages)
        changes = [(m.receipt_handle, 0.0) for m in messages if m.receipt_handle]
        failed = change_visibility(self.sqs, self.queue_url, changes)
        self.stats["released"] += len(messages)
        if failed:
            self._log(30, "could not give messages back; they return after a timeout", messages=len(failed))

    # ------------------------------------------------------------------ receiving

    def _receive_loop(self) -> None:
        try:
            self._receive_until_stopped()
        except BaseException as exc:
            self._log(50, "receiver crashed; stopping", error=f"{type(exc).__name__}: {exc}")
            self.stop()

    def _receive_until_stopped(self) -> None:
        pause = 0.0
        while not self._stopping.is_set():
            wanted = self._wait_for_room()
            if not wanted:
                return
            received_at = self.leases.clock()
            try:
                messages = self._receive(wanted)
                pause = 0.0
            except Exception as exc:
                pause = min(20.0, max(0.5, pause * 2))
                self._log(30, "receive failed; retrying", error=f"{type(exc).__name__}: {exc}", pause=pause)
                self._stopping.wait(pause)
                continue
            if self._stopping.is_set():
                self._release(messages)
                return
            if messages:
                self._accept(messages, received_at)
            elif self.options.exit_when_empty and self._held == 0:
                self._log(20, "queue is empty; stopping")
                self.stop()

    def _wait_for_room(self) -> int:
        """Wait for room to hold a full receive more; returns its size (0: stopping).

        The worker holds up to ``concurrency + 10`` messages: it starts what it has slots
        for and keeps the rest waiting, so a receive is in flight while the slots are still
        busy and the next ten are there when slots free up. Any idle slot means room for a
        full receive, so waiting for one never leaves a slot idle, and receives stay full
        (one request per ten tasks).
        """
        full = self._receive_size()
        with self._cond:
            while not self._stopping.is_set():
                if self._capacity() - self._held >= full:
                    return full
                self._cond.wait(0.5)
        return 0

    def _receive_size(self) -> int:
        return min(MAX_RECEIVE, self.concurrency)

    def _capacity(self) -> int:
        """Messages held at most: every slot busy and one full receive queued behind them."""
        return self.concurrency + self._receive_size()

    def _room_for_a_receive(self) -> bool:
        """Whether to wake the receiver (under ``_cond``): it waits only while there is none.

        Shutdown waits on the same condition for ``_running`` to empty, so that wakes too.
        """
        return self._capacity() - self._held >= self._receive_size() or not self._running

    def _receive(self, count: int) -> list[TaskMessage]:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=self.options.wait_time_seconds,
            VisibilityTimeout=self.options.visibility_timeout,
            MessageSystemAttributeNames=list(SYSTEM_ATTRIBUTES_READ),
            MessageAttributeNames=["All"],
        )
        messages = [TaskMessage.from_sqs_message(raw) for raw in response.get("Messages", [])]
        self.stats["received"] += len(messages)
        return messages

    def _accept(self, messages: list[TaskMessage], received_at: float) -> None:
        """Hold and start received messages, unless a stop began meanwhile (then give back).

        Reserving under the lock that shutdown takes means a stop either sees these
        messages (and waits for or gives them back) or is seen here.
        """
        limit = self.options.max_task_seconds + 2 * self.settings.deadline_margin_seconds
        self.leases.add(messages, received_at, self.options.visibility_timeout, limit)
        with self._cond:
            stopping = self._stopping.is_set()
            starting: list[TaskMessage] = []
            if not stopping:
                self._held += len(messages)
                self._waiting.extend(self._groups.admit(messages))
                starting = self._take_waiting()
        if stopping:
            self._release(messages)
        for message in starting:
            self._submit(message)

    def _take_waiting(self) -> list[TaskMessage]:
        """Reserve a slot in ``_running`` for each waiting message that has one (under
        ``_cond``); the caller submits them once it has let go of the lock."""
        starting = []
        while self._waiting and len(self._running) < self.concurrency:
            message = self._waiting.popleft()
            self._running[_key(message)] = (message, None)
            starting.append(message)
        return starting

    # ------------------------------------------------------------------ running

    def _submit(self, message: TaskMessage) -> None:
        """Submit a message already reserved in ``_running`` (so shutdown waits for it)."""
        assert self._pool is not None
        budget = self._budget(message)
        self.leases.start(message, budget)
        try:
            future = self._pool.submit(message, budget)
        except Exception as exc:  # the pool is shutting down or broken
            self._log(40, "could not start a task; giving it back", error=repr(exc))
            self._give_back(message)
            with self._cond:
                self._running.pop(_key(message), None)
                starting = self._slot_freed()
            for waiting in starting:
                self._submit(waiting)
            return
        with self._cond:
            self._running[_key(message)] = (message, future)
            timeout = self._timeout(message)
            if timeout and not isinstance(self._pool, ProcessTaskPool):  # processes stop their own
                self._overdue_at[_key(message)] = (time.monotonic() + timeout, message)
        future.add_done_callback(partial(self._completed, message))  # runs after the line above

    def _timeout(self, message: TaskMessage) -> float | None:
        task = self.core.registry.get(message.task_type or "")
        return task.timeout if task is not None else None

    def _let_go_overdue(self) -> None:
        """A thread cannot be stopped: a task past its timeout has its message given back
        (visible at once, so it is retried) and is reported; its late result is dropped."""
        now = time.monotonic()
        with self._cond:
            overdue = [(key, m) for key, (at, m) in self._overdue_at.items() if at <= now]
            for key, _ in overdue:
                del self._overdue_at[key]
                self._let_go.add(key)
        for _, message in overdue:
            self._log(
                40,
                "task ran past its timeout; a thread cannot be stopped, so its message is let go",
                **task_identity(message),
                timeout=self._timeout(message),
            )
            self.stats["let_go"] += 1
            self._release([message])
            _, waiting = self._groups.finished(message, proceed=False)
            for behind in waiting:  # its FIFO group waits behind it in the queue, not here
                self._give_back(behind)

    def _budget(self, message: TaskMessage) -> float:
        """Seconds the task may hold its message: its timeout plus the dispatcher's margins.

        The dispatcher refuses to start a task whose deadline is closer than its timeout
        plus ``deadline_margin_seconds``; one more margin is left for settling.
        """
        task = self.core.registry.get(message.task_type or "")
        timeout = task.timeout if task is not None and task.timeout else self.options.max_task_seconds
        return timeout + 2 * self.settings.deadline_margin_seconds

    def _completed(self, message: TaskMessage, future: Future[Any]) -> None:
        """Runs on the pool's thread as each task ends; hands it to the settler."""
        if future.cancelled():
            return  # given back by the shutdown path
        try:
            self._settle_one(message, future)
        except BaseException as exc:
            self._log(50, "could not settle a finished task", error=repr(exc), task_id=message.task_id)

    def _settle_one(self, message: TaskMessage, future: Future[Any]) -> None:
        assert self._pool is not None
        assert self._settler is not None
        result = self._pool.result(message, future)
        with self._cond:
            self._overdue_at.pop(_key(message), None)
            let_go = _key(message) in self._let_go
            self._let_go.discard(_key(message))
        if not let_go:  # a let-go message is someone else's now: its late result is dropped
            self._settler.put(result)
        with self._cond:
            self.stats["finished"] += 1
            self._running.pop(_key(message), None)
            self._held -= 1
            starting = self._slot_freed()
        for waiting in starting:
            self._submit(waiting)

    def _slot_freed(self) -> list[TaskMessage]:
        """A task left ``_running`` (under ``_cond``): the waiting messages to start now.

        The pool thread that freed the slot submits the next message itself, so a finished
        task wakes the receiver only when there is room for a full receive (or, while
        stopping, for shutdown's wait on ``_running``).
        """
        stopping = self._stopping.is_set()
        starting = [] if stopping else self._take_waiting()
        if stopping or self._room_for_a_receive():
            self._cond.notify_all()
        return starting

    def _on_settled(self, settlements: Sequence[Settlement]) -> list[TaskMessage]:
        """The core settled a batch (on the settler's thread): move FIFO groups on or not.

        Returns the messages to give back: the waiting messages of each group that may not
        go on, and any successor while the worker is stopping.
        """
        give_back: list[TaskMessage] = []
        starting: list[TaskMessage] = []
        for settlement in settlements:
            message = settlement.result.message
            following, held = self._groups.finished(message, proceed=settlement.group_proceeds)
            with self._cond:
                stopping = self._stopping.is_set()
                released = held + following if stopping else held
                self._held -= len(released)
                if not stopping:
                    self._waiting.extend(following)
                    starting += self._take_waiting()
                if released:
                    self._cond.notify_all()
            give_back += released
        for successor in starting:
            self._submit(successor)
        return give_back

    def _give_back(self, message: TaskMessage) -> None:
        assert self._settler is not None
        self._settler.put(message)
        with self._cond:
            self._held -= 1
            self._cond.notify_all()

    # ------------------------------------------------------------------ signals

    def _install_signal_handlers(self) -> Callable[[], None]:
        """SIGTERM/SIGINT stop gracefully, a second one exits at once (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
        for sig in previous:
            signal.signal(sig, self._on_signal)

        def restore() -> None:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

        return restore

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        """Only sets a flag; a second signal exits at once, with async-signal-safe calls only."""
        if self._signal is None:
            self._signal = signum
            return
        os.write(2, f"taskworker: second signal ({signum}): exiting now\n".encode())
        if isinstance(self._pool, ProcessTaskPool):
            self._pool.kill_children()
        os._exit(128 + signum)

    def _exit_now(self, code: int) -> None:
        if isinstance(self._pool, ProcessTaskPool):
            self._pool.shutdown(wait=False)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)

    def _log(self, level: int, message: str, **extra: Any) -> None:
        self.core.logger.log(level, message, extra={"queue_url": self.queue_url, **extra})


def _key(message: TaskMessage) -> str:
    return message.receipt_handle or message.message_id


def run_worker(
    app: TaskApp,
    options: WorkerOptions | None = None,
    *,
    queue: str | None = None,
    queue_url: str | None = None,
    dlq_url: str | None = None,
) -> int:
    """Run a worker for one of the app's queues in this process until SIGTERM/SIGINT;
    returns its exit code. The queue is chosen by :func:`queue_settings`.

    If tasks were still running when the grace period ended, their threads cannot be
    stopped, so the process exits here (their messages were already given back).
    """
    app.configure(settings=queue_settings(app, queue, queue_url=queue_url, dlq_url=dlq_url))
    worker = Worker.for_app(app, options)
    code = worker.run()
    if worker.abandoned:
        worker._exit_now(code)
    return code


def queue_settings(
    app: TaskApp, queue: str | None, *, queue_url: str | None = None, dlq_url: str | None = None
) -> Settings:
    """The app's settings for a worker that drains ``queue`` (one worker drains one queue).

    Without a name: the queue ``TASKWORKER_QUEUE`` names, else the app's one declared
    worker queue (an app with several must say which: a worker per queue, so each scales
    on its own backlog), else the default queue; an app that declares no queue is consumed
    as before, every task from ``TASKWORKER_QUEUE_URL``. When the environment describes
    another queue's consumer, its queue URL, DLQ and redrive limit do not apply: the URL
    comes from ``queue_url`` or ``TASKWORKER_QUEUE_URLS``, the DLQ from ``dlq_url`` or the
    queue's own RedrivePolicy, the limit from the queue.
    """
    settings = app.settings
    name = queue or settings.queue or _default_worker_queue(app)
    if name is None:
        return settings.merged(queue_url=queue_url, dlq_url=dlq_url)
    if name not in app.queues:
        raise WorkerConfigError(
            f"app {app.name!r} has no queue {name!r}; its queues: {', '.join(app.queues)}"
        )
    if name == settings.own_queue:
        url = queue_url or settings.url_of(name)
        return settings.merged(queue=name, queue_url=url, dlq_url=dlq_url)
    url = queue_url or (settings.queue_urls or {}).get(name)
    if not url:
        raise WorkerConfigError(
            f"no URL for queue {name!r}: set TASKWORKER_QUEUE_URLS (a JSON object of queue name "
            "to URL) or pass --queue-url"
        )
    return dataclasses.replace(
        settings,
        queue=name,
        queue_url=url,
        dlq_url=dlq_url or _dead_letter_url(app, url),
        max_receive_count=None,
    )


def _default_worker_queue(app: TaskApp) -> str | None:
    """The queue a worker drains when none is named; see :func:`queue_settings`."""
    queues = app.queues
    if not any(spec.declared for spec in queues.values()):
        return None
    workers = [spec.name for spec in queues.values() if spec.declared and spec.consumer == "worker"]
    if len(workers) == 1:
        return workers[0]
    if not workers and not queues[DEFAULT_QUEUE].declared:
        return DEFAULT_QUEUE  # its consumer is the deployment's: this worker, here
    which = f"several worker queues ({', '.join(workers)})" if workers else "no worker queue"
    raise WorkerConfigError(
        f"app {app.name!r} has {which}: pass --queue NAME (one worker drains one queue; "
        "run one worker per queue)"
    )


def _dead_letter_url(app: TaskApp, queue_url: str) -> str | None:
    """The DLQ the queue's RedrivePolicy names, so permanent failures go to its own DLQ."""
    from taskworker.dlq_admin import dead_letter_url

    try:
        return dead_letter_url(app.clients.sqs, queue_url)
    except Exception as exc:
        raise WorkerConfigError(f"cannot read queue {queue_url}: {exc}") from exc

"""Where the worker's tasks run: threads for I/O-bound work, processes for CPU-bound work.

Both pools take a :class:`~taskworker.messages.TaskMessage` and give back a
:class:`~taskworker.middleware.TaskResult` through the same dispatcher call, so the worker
treats them alike. The process pool dispatches *in the child*: the app is imported there
again by its ``"module:attribute"`` path (functions and clients do not cross process
boundaries), and only plain values (the message going in, the result coming back) are
pickled. ``finish_batch`` stays in the parent, where the batching happens.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, Literal, Protocol

from taskworker.context import Deadline
from taskworker.outcomes import ErrorInfo, RetryLater, TaskResult

if TYPE_CHECKING:
    from taskworker.app import TaskApp
    from taskworker.dispatch import Dispatcher
    from taskworker.messages import TaskMessage
    from taskworker.settings import Settings

PoolKind = Literal["thread", "process"]
WORKER_CRASHED = "WorkerCrashed"


class TaskPool(Protocol):
    """Runs dispatches concurrently; ``cancel`` on a returned future means "never started"."""

    def submit(self, message: TaskMessage, budget: float) -> Future[Any]: ...

    def result(self, message: TaskMessage, future: Future[Any]) -> TaskResult: ...

    def shutdown(self, *, wait: bool) -> None: ...


class ThreadTaskPool:
    """Dispatches on threads of this process: cheap, shares clients, for I/O-bound tasks."""

    def __init__(self, core: Dispatcher, concurrency: int, max_receives: int | None) -> None:
        self._core = core
        self._max_receives = max_receives
        self._threads = SelfServingThreads(concurrency, thread_name_prefix="taskworker-task")

    def submit(self, message: TaskMessage, budget: float) -> Future[Any]:
        return self._threads.submit(self._dispatch, message, budget)

    def _dispatch(self, message: TaskMessage, budget: float) -> TaskResult:
        return self._core.dispatch(message, Deadline.after(budget), max_receives=self._max_receives)

    def result(self, message: TaskMessage, future: Future[Any]) -> TaskResult:
        return _result_or_crash(message, future)

    def shutdown(self, *, wait: bool) -> None:
        self._threads.shutdown(wait=wait)


class SelfServingThreads:
    """A thread pool that wakes as few threads as the work needs.

    ``ThreadPoolExecutor`` wakes an idle thread for every submit: a receive of ten trivial
    tasks wakes ten threads, each a futex wake-up and a GIL hand-off for a few µs of work,
    a measurable share of a trivial task's cost. Here:

    - a submit from one of the pool's own threads (a finishing task's done-callback)
      wakes nobody: that thread takes the job next itself;
    - any other submit wakes one idle thread, unless one is already waking up; a thread
      that wakes and takes a job wakes the next one if jobs are still queued. Trivial
      jobs are then mostly drained by the first thread before the next is up, and jobs
      that block (I/O) spread over the threads one wake-up after another.

    Futures behave as usual: ``cancel`` works until a thread takes the job.
    """

    def __init__(self, size: int, *, thread_name_prefix: str) -> None:
        self._size = size
        self._prefix = thread_name_prefix
        self._jobs: deque[tuple[Future[Any], Callable[[], Any]]] = deque()
        self._changed = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._waking = 0
        """Threads woken (or started) that have not yet looked for a job."""
        self._stopping = False
        self._own = threading.local()
        """Set on this pool's threads: their submits are picked up by themselves."""

    def submit(self, func: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        with self._changed:
            if self._stopping:
                raise RuntimeError("cannot submit after shutdown")
            self._jobs.append((future, lambda: func(*args)))
            if getattr(self._own, "serving", False) and len(self._jobs) == 1:
                return future  # this thread takes it as soon as its current job is done
            self._wake_one()
        return future

    def _wake_one(self) -> None:
        """Under ``_changed``: get one more thread looking for jobs, unless one is on its way."""
        if self._waking:
            return
        if self._idle > 0:
            self._waking += 1
            self._changed.notify()
        elif len(self._threads) < self._size:
            self._waking += 1
            self._start_thread()

    def _start_thread(self) -> None:
        name = f"{self._prefix}_{len(self._threads)}"
        thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _serve(self) -> None:
        self._own.serving = True
        woken = True  # a new thread was counted in ``_waking`` when it was started
        while (job := self._next_job(woken)) is not None:
            woken = False
            future, work = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = work()
            except BaseException as exc:
                future.set_exception(exc)  # runs the done-callbacks here, as submit expects
            else:
                future.set_result(result)

    def _next_job(self, woken: bool) -> tuple[Future[Any], Callable[[], Any]] | None:
        with self._changed:
            while True:
                if woken and self._waking:  # (shutdown's notify_all wakes uncounted threads)
                    self._waking -= 1
                    woken = False
                if self._jobs:
                    job = self._jobs.popleft()
                    if self._jobs:
                        self._wake_one()  # more queued: the next thread, one at a time
                    return job
                if self._stopping:
                    return None
                self._idle += 1
                self._changed.wait()
                self._idle -= 1
                woken = True

    def shutdown(self, *, wait: bool) -> None:
        """Cancel the jobs not started; with ``wait``, join the threads."""
        with self._changed:
            self._stopping = True
            cancelled = list(self._jobs)
            self._jobs.clear()
            self._changed.notify_all()
        for future, _ in cancelled:
            future.cancel()
        if wait:
            for thread in self._threads:
                if thread is not threading.current_thread():
                    thread.join()


class ProcessTaskPool:
    """Dispatches in child processes (spawned, never forked: the parent runs threads).

    A child that dies (out of memory, a segfault in an extension) breaks the whole
    executor; the tasks it held come back as retries and a fresh executor is started.
    """

    def __init__(self, core: Dispatcher, app_path: str, concurrency: int, max_receives: int | None) -> None:
        self._core = core
        self._args = (app_path, core.settings, list(sys.path))
        self._concurrency = concurrency
        self._max_receives = max_receives
        self._executor = self._start()

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self._concurrency,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_child,
            initargs=self._args,
        )

    def submit(self, message: TaskMessage, budget: float) -> Future[Any]:
        try:
            return self._executor.submit(_dispatch_in_child, message, budget, self._max_receives)
        except BrokenProcessPool:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = self._start()
            return self._executor.submit(_dispatch_in_child, message, budget, self._max_receives)

    def result(self, message: TaskMessage, future: Future[Any]) -> TaskResult:
        result = _result_or_crash(message, future)
        result.task = self._core.registry.get(message.task_type or "")
        return result

    def warm_up(self) -> None:
        """Start every child now, so the first tasks do not pay for imports."""
        futures = [self._executor.submit(_ping) for _ in range(self._concurrency)]
        for future in futures:
            future.result()

    def kill_children(self) -> None:
        """Kill the children at once; safe inside a signal handler (takes no lock)."""
        terminate_children(self._executor)

    def shutdown(self, *, wait: bool) -> None:
        if not wait:
            self.kill_children()
        self._executor.shutdown(wait=wait, cancel_futures=True)


def make_pool(
    kind: PoolKind,
    core: Dispatcher,
    *,
    concurrency: int,
    max_receives: int | None,
    app_path: str | None,
) -> ThreadTaskPool | ProcessTaskPool:
    if kind == "thread":
        return ThreadTaskPool(core, concurrency, max_receives)
    if not app_path:
        raise ValueError(
            "the process pool imports the app in its children by 'module:attribute', and this app "
            "is not an attribute of an importable module; pass app_path='package.module:app'"
        )
    return ProcessTaskPool(core, app_path, concurrency, max_receives)


def find_app_path(app: TaskApp) -> str | None:
    """``module:attribute`` under which ``app`` can be imported again (``__main__`` cannot)."""
    for name, module in list(sys.modules.items()):
        if name == "__main__" or module is None:
            continue
        for attribute, value in list(vars(module).items()):
            if value is app:
                return f"{name}:{attribute}"
    return None


def terminate_children(executor: Executor) -> None:
    """Kill a process pool's children at once (used only when the worker must exit now)."""
    processes = getattr(executor, "_processes", None) or {}  # no public API for this
    for process in list(processes.values()):
        process.terminate()


def _result_or_crash(message: TaskMessage, future: Future[Any]) -> TaskResult:
    """The dispatch result; a runtime crash (not a task failure) becomes a plain retry.

    The dispatcher never raises for a task's own errors, so an exception here means the
    runtime broke (a child died, a result could not be pickled, a handler raised
    ``SystemExit``): the message comes back after its visibility timeout.
    """
    try:
        result = future.result()
    except BaseException as exc:
        error = ErrorInfo(WORKER_CRASHED, f"{type(exc).__name__}: {exc}")
        return TaskResult(message, RetryLater(error, delay=None))
    assert isinstance(result, TaskResult)
    return result


_child_app: TaskApp | None = None


def _init_child(app_path: str, settings: Settings, path: list[str]) -> None:
    """Import the app in a fresh child; the parent alone decides when to stop."""
    global _child_app
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for entry in reversed(path):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    from taskworker.app import load_app

    _child_app = load_app(app_path)
    _child_app.configure(settings=settings)
    _child_app.dispatcher.stop_sync_tasks_at_timeout = True  # one task at a time, main thread


def _dispatch_in_child(message: TaskMessage, budget: float, max_receives: int | None) -> TaskResult:
    assert _child_app is not None, "child process was not initialised"
    result = _child_app.dispatcher.dispatch(message, Deadline.after(budget), max_receives=max_receives)
    return dataclasses.replace(result, task=None)  # the parent re-attaches its own definition


def _ping() -> bool:
    return _child_app is not None

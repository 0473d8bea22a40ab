"""The dispatcher: one message in, one :mod:`outcome <taskworker.outcomes>` out.

All task semantics live here, so every runtime (Lambda, the container worker, the dev
stack, the test kit) behaves the same: route by ``task_type``, validate the payload, refuse
to start what cannot finish before the deadline, run the handler inside the middleware,
and classify what happened. It never talks to a queue and never raises for a bad message;
only ``BaseException`` that is not an ``Exception`` (interrupts, exits) passes through.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from taskworker import timeouts
from taskworker.context import NEVER, Deadline, TaskCall
from taskworker.errors import PermanentError, RetryableError, TaskCancelledError, validation_summary
from taskworker.log import SupportsLogging, task_identity
from taskworker.messages import TaskMessage
from taskworker.middleware import Middleware, compose
from taskworker.outcomes import Cancelled, ErrorInfo, Failed, Outcome, RetryLater, Succeeded, TaskResult
from taskworker.registry import Registry, TaskDefinition
from taskworker.retry import NO_RETRY
from taskworker.settings import Settings
from taskworker.settlement import Settlement, decide

if TYPE_CHECKING:
    import asyncio

MISSING_TASK_TYPE = "MissingTaskType"
UNKNOWN_TASK_TYPE = "UnknownTaskType"
MALFORMED_JSON = "MalformedJSON"
INVALID_PAYLOAD = "InvalidPayload"
INVALID_RESULT = "InvalidResult"
DEADLINE_TOO_CLOSE = "DeadlineTooClose"
WRONG_QUEUE = "WrongQueue"
"""A task of another queue reached this consumer (a producer that routes by stale
settings): never run here; :class:`~taskworker.middleware.forwarding.Forwarding` hands it on."""

SUCCEEDED_EMPTY = Succeeded(None)
"""Shared by every task that returns nothing (outcomes are immutable)."""

MaxReceives = int | Callable[[TaskMessage], int | None] | None
"""The queue's maxReceiveCount, or a callable that looks it up for a message's queue
(asked only when a task fails, so a healthy batch makes no extra call)."""


@dataclass(frozen=True, slots=True)
class _Plan:
    """What runs around one task, worked out once per task instead of once per message."""

    before: tuple[Middleware, ...]
    wrappers: tuple[Middleware, ...]
    after: tuple[Middleware, ...]
    margin: float
    """Seconds that must be left before the task may start: its timeout plus the margin."""
    validate: Callable[[str], BaseModel]
    """The input model's JSON validation, looked up once (pydantic's ``model_validate_json``
    is a wrapper around it that costs a third of the validation itself)."""
    bare: bool
    """No middleware applies: the handler runs alone, with no :class:`TaskCall` unless it
    takes a context or fails."""


class Dispatcher:
    """Routes messages to handlers through the middleware; see the module docstring."""

    def __init__(
        self,
        registry: Registry,
        settings: Settings,
        middleware: Sequence[Middleware],
        logger: SupportsLogging,
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.logger = logger
        self.middleware = list(middleware)
        self._batch_hooks = _overriding(self.middleware, "after_batch")
        self._plans: dict[str, _Plan] = {}
        self._queue = settings.queue
        """The queue this consumer drains; ``None``: it runs the task of every queue."""
        self._loops = threading.local()
        self.stop_sync_tasks_at_timeout = False
        """Interrupt sync handlers at their ``timeout`` with SIGALRM: only where one task
        runs at a time in the main thread of a process of its own (the process pool's
        children). Async handlers are always cancelled at their timeout."""

    def dispatch(
        self,
        message: TaskMessage,
        deadline: Deadline | None = None,
        *,
        max_receives: MaxReceives = None,
    ) -> TaskResult:
        """Decide what becomes of ``message``; never raises for anything the message holds."""
        started, wall_clock = time.perf_counter(), time.time()
        task = self.registry.lookup(message.task_type)
        outcome = self._run(message, task, deadline or NEVER, max_receives)
        elapsed_ms = (time.perf_counter() - started) * 1000
        result = TaskResult(message, outcome, task, elapsed_ms, False, wall_clock)
        if type(outcome) is not Succeeded:
            self._log_failure(result)
        return result

    def finish_batch(self, results: Sequence[TaskResult]) -> list[Settlement]:
        """Run the ``after_batch`` chain, then decide each message's settlement.

        Dead-lettering is the chain's first step. A step that raises is logged and its
        changes to the results are undone, so each message's outcome stands as the
        previous steps left it; a message the DLQ acknowledged stays dead-lettered
        whatever a later step does, so it is never copied there twice. A message a step
        forwarded to its own queue is that queue's consumer's now: later steps do not see
        it (no event, no status), and it is deleted here.
        """
        pending = list(results)
        for item in self._batch_hooks:
            self._after_batch_step(item, pending)
            pending = [result for result in pending if not result.forwarded]
        return decide(results)

    def _after_batch_step(self, item: Middleware, results: Sequence[TaskResult]) -> None:
        before = [(result.outcome, result.dead_lettered) for result in results]
        try:
            item.after_batch(results)
        except Exception as exc:
            for result, (outcome, dead_lettered) in zip(results, before, strict=True):
                # a copy the DLQ acknowledged before the step broke stays counted
                result.outcome, result.dead_lettered = outcome, dead_lettered or result.dead_lettered
            self._log_hook_failure(item, "after_batch", exc, task_ids=[r.message.task_id for r in results])
            return
        for result, (outcome, dead_lettered) in zip(results, before, strict=True):
            if dead_lettered and not result.dead_lettered:
                result.outcome, result.dead_lettered = outcome, True

    def _run(
        self,
        message: TaskMessage,
        task: TaskDefinition | None,
        deadline: Deadline,
        max_receives: MaxReceives,
    ) -> Outcome:
        if task is None:
            return self._reject_route(message, max_receives)
        if self._queue is not None and task.queue != self._queue:
            return self._wrong_queue(message, task, max_receives)
        plan = self._plans.get(task.name) or self._plan(task)
        try:
            payload = plan.validate(message.body)
        except ValidationError as exc:
            return _invalid(task, exc)
        if deadline is not NEVER and deadline.remaining() < plan.margin:
            return _too_close(message, plan.margin, max_receives)
        if not plan.bare:
            return self._call(TaskCall(message, task, payload, deadline, self.logger), plan, max_receives)
        call = TaskCall(message, task, payload, deadline, self.logger) if task.takes_context else None
        try:
            return self._succeeded(task, self._invoke(task, payload, call), duplicate=False)
        except Exception as exc:
            return self._classify(message, task, exc, max_receives)

    def _plan(self, task: TaskDefinition) -> _Plan:
        relevant = [item for item in self.middleware if item.applies_to(task)]
        before = tuple(_overriding(relevant, "before_task"))
        wrappers = tuple(_overriding(relevant, "wrap_handler"))
        after = tuple(_overriding(relevant, "after_task"))
        plan = _Plan(
            before=before,
            wrappers=wrappers,
            after=after,
            margin=(task.timeout or 0.0) + self.settings.deadline_margin_seconds,
            validate=_json_validator(task.input_model),
            bare=not (before or wrappers or after),
        )
        self._plans[task.name] = plan
        return plan

    def _call(self, call: TaskCall, plan: _Plan, max_receives: MaxReceives) -> Outcome:
        """The task inside its middleware.

        A ``before_task`` or ``wrap_handler`` hook that raises stops the task from
        running, so it is classified like the handler failing (retried, or dead-lettered
        for a :class:`~taskworker.PermanentError`). An ``after_task`` hook that raises is
        logged and the outcome stands: the task already ran.
        """
        try:
            for item in plan.before:
                self._before(item, call)
            handler = compose(plan.wrappers, call, lambda: self._invoke(call.task, call.payload, call))
            outcome = self._succeeded(call.task, handler(), duplicate=call.duplicate)
        except Exception as exc:
            outcome = self._classify(call.message, call.task, exc, max_receives)
        for item in plan.after:
            try:
                item.after_task(call, outcome)
            except Exception as exc:
                self._log_hook_failure(item, "after_task", exc, message=call.message)
        return outcome

    def _before(self, item: Middleware, call: TaskCall) -> None:
        try:
            item.before_task(call)
        except Exception as exc:
            self._log_hook_failure(item, "before_task", exc, message=call.message)
            raise

    def _log_hook_failure(
        self,
        item: Middleware,
        hook: str,
        exc: Exception,
        *,
        message: TaskMessage | None = None,
        task_ids: list[str] | None = None,
    ) -> None:
        """A middleware hook raised: say which, for which task, and never re-raise here."""
        extra: dict[str, Any] = {
            "hook": hook,
            "middleware": type(item).__name__,
            "error": f"{type(exc).__name__}: {exc}",
        }
        if message is not None:
            extra.update(task_identity(message))
        if task_ids is not None:
            extra["task_ids"] = task_ids
        self.logger.log(40, "middleware hook failed; the outcome stands", extra=extra, exc_info=exc)

    def _invoke(self, task: TaskDefinition, payload: BaseModel, call: TaskCall | None) -> BaseModel | None:
        """Run the handler; ``call`` is needed (and given) only when the task takes a context."""
        args: tuple[Any, ...] = (
            (payload,) if call is None or not task.takes_context else (payload, call.context)
        )
        if task.is_async:
            work = task.func(*args)
            if task.timeout:
                work = timeouts.within(work, task.timeout)
            return self._event_loop().run(work)  # type: ignore[no-any-return]
        if task.timeout and self.stop_sync_tasks_at_timeout:
            return timeouts.alarm_within(lambda: task.func(*args), task.timeout)  # type: ignore[no-any-return]
        return task.func(*args)  # type: ignore[no-any-return]

    def _succeeded(self, task: TaskDefinition, value: Any, *, duplicate: bool) -> Outcome:
        model = task.output_model
        if model is None:
            return Succeeded(None, duplicate=True) if duplicate else SUCCEEDED_EMPTY
        if isinstance(value, model):
            return Succeeded(value, duplicate=duplicate)
        try:
            return Succeeded(model.model_validate(value), duplicate=duplicate)
        except ValidationError as exc:
            message = (
                f"handler returned {type(value).__name__}, not {model.__name__}: {validation_summary(exc)}"
            )
            return Failed(ErrorInfo(INVALID_RESULT, message))

    def _classify(
        self, message: TaskMessage, task: TaskDefinition, exc: Exception, max_receives: MaxReceives
    ) -> Outcome:
        error = ErrorInfo.from_exception(exc)
        if isinstance(exc, TaskCancelledError):
            return Cancelled(error)
        if isinstance(exc, PermanentError):
            return Failed(error, permanent=True)
        limit = max_receives(message) if callable(max_receives) else max_receives
        final = not isinstance(exc, RetryableError) or exc.final_on_last_receive
        if final and limit is not None and message.receive_count >= limit:
            return Failed(error, permanent=False)
        if isinstance(exc, RetryableError) and exc.delay is not None:
            return RetryLater(error, delay=exc.delay)
        delay = task.retry.requeue_delay(
            message.receive_count,
            self.settings.backoff_base_seconds,
            self.settings.backoff_max_seconds,
        )
        return RetryLater(error, delay=delay)

    def _reject_route(self, message: TaskMessage, max_receives: MaxReceives) -> Outcome:
        """No task for the message: permanent, except an unknown type on a queue with a
        redrive limit.

        During a rolling deploy new producers send types that old consumers do not know
        yet, so an unknown type is retried with backoff (another consumer, or this one
        after its deploy, may know it) and dead-lettered with ``UnknownTaskType`` only on
        the last allowed receive. Without a known limit it is dead-lettered at once, as a
        queue with no redrive policy would otherwise retry it forever.
        """
        if message.task_type is None:
            return Failed(ErrorInfo(MISSING_TASK_TYPE, "message has no 'task_type' String attribute"))
        error = ErrorInfo(UNKNOWN_TASK_TYPE, f"no task registered as {message.task_type!r}")
        return self._not_for_here(message, error, max_receives)

    def _wrong_queue(self, message: TaskMessage, task: TaskDefinition, max_receives: MaxReceives) -> Outcome:
        """A task of another queue: never run on this consumer (a Lambda queue must not run
        a 40-minute task), handled like an unknown type.

        ``after_batch`` forwards it to its own queue first when that queue's URL is known
        (:class:`~taskworker.middleware.forwarding.Forwarding`); otherwise this outcome
        stands: retried with backoff, then dead-lettered with ``WrongQueue``.
        """
        error = ErrorInfo(
            WRONG_QUEUE,
            f"task {task.name!r} travels on queue {task.queue!r}, not on {self._queue!r} which this "
            f"consumer drains; it is forwarded when TASKWORKER_QUEUE_URLS names queue {task.queue!r}",
        )
        return self._not_for_here(message, error, max_receives)

    def _not_for_here(self, message: TaskMessage, error: ErrorInfo, max_receives: MaxReceives) -> Outcome:
        """Retried with backoff until the last allowed receive, then failed for good (at
        once without a known limit): another consumer, or this one later, may take it."""
        limit = max_receives(message) if callable(max_receives) else max_receives
        if limit is None or message.receive_count >= limit:
            return Failed(error)
        settings = self.settings
        delay = NO_RETRY.requeue_delay(
            message.receive_count, settings.backoff_base_seconds, settings.backoff_max_seconds
        )
        return RetryLater(error, delay=delay)

    def _event_loop(self) -> asyncio.Runner:
        """One event loop per thread, reused: a new loop per message costs more than a task."""
        runner: asyncio.Runner | None = getattr(self._loops, "runner", None)
        if runner is None:
            import asyncio  # deferred: 45 ms of import time that sync-only apps never need

            runner = self._loops.runner = asyncio.Runner()
        return runner

    def _log_failure(self, result: TaskResult) -> None:
        outcome = result.outcome
        assert not isinstance(outcome, Succeeded)
        level = 40 if isinstance(outcome, Failed) else 30
        extra: dict[str, Any] = {
            **task_identity(result.message),
            "error_type": outcome.error.type,
            "error_message": outcome.error.message,
            "permanent": isinstance(outcome, Failed) and outcome.permanent,
        }
        if self.settings.log_payloads:  # opt-in: payloads may hold personal data
            extra["body"] = result.message.body
        message = (
            "task failed"
            if isinstance(outcome, Failed)
            else "task cancelled"
            if isinstance(outcome, Cancelled)
            else "task will be retried"
        )
        self.logger.log(level, message, extra=extra)


def _too_close(message: TaskMessage, margin: float, max_receives: MaxReceives) -> Outcome:
    """Not started for lack of time: back at once, unless this was the last allowed receive.

    On the last receive the failure is reported (event, status) before SQS redrives the
    message, as for any other failure; a task whose timeout never fits the function's
    would otherwise reach the DLQ with no trace of why.
    """
    error = ErrorInfo(DEADLINE_TOO_CLOSE, f"not started: needs {margin:g}s, the invocation has less")
    limit = max_receives(message) if callable(max_receives) else max_receives
    if limit is not None and message.receive_count >= limit:
        return Failed(error, permanent=False)
    return RetryLater(error, delay=0.0)


def _invalid(task: TaskDefinition, exc: ValidationError) -> Failed:
    if any(error["type"] == "json_invalid" for error in exc.errors()):
        return Failed(ErrorInfo(MALFORMED_JSON, "message body is not valid JSON"))
    return Failed(ErrorInfo(INVALID_PAYLOAD, f"{task.input_model.__name__}: {validation_summary(exc)}"))


def _json_validator(model: type[BaseModel]) -> Callable[[str], BaseModel]:
    """``model.model_validate_json``, or what it calls when the model does not override it."""
    inherited = getattr(BaseModel.model_validate_json, "__func__", None)
    if getattr(model.model_validate_json, "__func__", None) is inherited:
        return model.__pydantic_validator__.validate_json
    return model.model_validate_json


def _overriding(middleware: Sequence[Middleware], hook: str) -> list[Middleware]:
    """The middleware that override ``hook``: the hot path skips the no-op ones."""
    base = getattr(Middleware, hook)
    return [item for item in middleware if getattr(type(item), hook) is not base]

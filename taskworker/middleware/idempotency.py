"""Idempotency: a redelivered task returns its stored result instead of running again.

Built on powertools' idempotency utility, so the records are the ones its DynamoDB table
schema and tooling expect. The key is the task type plus the ``idempotency_key`` message
attribute when a client set one, else the SQS MessageId; it is hashed under a fixed
``key_prefix`` so renaming or moving a handler does not change keys.

- A completed key returns its stored result as ``Succeeded(..., duplicate=True)``.
- A key in progress elsewhere (a concurrent duplicate) raises :class:`DuplicateInProgressError`,
  a retryable error: the message comes back later and finds the result, and the handler
  never runs twice at once.
- The in-progress lock expires with the runtime's deadline, so an attempt that crashed
  (Lambda timed out) does not block the retry for the full record lifetime.

This middleware must sit outside :class:`~taskworker.middleware.InProcessRetries`: the
series of in-process tries holds one lock and stores one result.

powertools quirks handled here (see FIELD-NOTES): its decorator takes keyword arguments
only; a persistence layer keeps the *first* config it is given, so each middleware owns
one layer and one config; the key prefix is set on every call, so it is kept constant
(the task type goes into the hashed data instead) to stay correct across threads.
"""

from __future__ import annotations

import contextvars
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from taskworker.context import Deadline, TaskCall
from taskworker.errors import RetryableError
from taskworker.middleware.base import HandlerCall, Middleware

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer, IdempotencyConfig

    from taskworker.registry import TaskDefinition

KEY_PREFIX = "taskworker"
"""Fixed on purpose: keys must survive refactors of the handler's module or name."""

DEFAULT_EXPIRES_AFTER_SECONDS = 3600
_deadline: contextvars.ContextVar[Deadline] = contextvars.ContextVar("taskworker_idempotency_deadline")


class DuplicateInProgressError(RetryableError):
    """Another attempt holds this task's idempotency lock; try again later."""


class _UnstorableError(Exception):
    """The handler returned something its output model refuses: do not store it."""

    def __init__(self, value: Any) -> None:
        super().__init__("invalid result")
        self.value = value


class _RemainingTime:
    """What powertools calls a Lambda context: only ``get_remaining_time_in_millis``.

    It reads the deadline of the call running on the current thread, so one config
    serves concurrent workers without anyone re-registering it per call.
    """

    def __init__(self, ceiling_seconds: float) -> None:
        self.ceiling_seconds = ceiling_seconds

    def get_remaining_time_in_millis(self) -> int:
        deadline = _deadline.get(None)
        remaining = deadline.remaining() if deadline is not None else math.inf
        return int(min(remaining, self.ceiling_seconds) * 1000)


class Idempotency(Middleware):
    """Runs each idempotent task at most once per key; see the module docstring.

    ``persistence`` is a powertools persistence layer, or a callable building one on
    first use (so that importing powertools' idempotency package, and boto3 with it,
    waits until a task actually runs). Give each instance its own layer.
    """

    def __init__(
        self,
        persistence: BasePersistenceLayer | Callable[[], BasePersistenceLayer],
        *,
        expires_after_seconds: int = DEFAULT_EXPIRES_AFTER_SECONDS,
    ) -> None:
        self._persistence = persistence
        self.expires_after_seconds = expires_after_seconds
        self._config: IdempotencyConfig | None = None

    @classmethod
    def dynamodb(cls, table: str, client: Callable[[], Any], **options: Any) -> Idempotency:
        """Backed by powertools' ``DynamoDBPersistenceLayer`` on ``table`` (key ``id``)."""

        def build() -> BasePersistenceLayer:
            from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

            return DynamoDBPersistenceLayer(table_name=table, boto3_client=client())

        return cls(build, **options)

    def applies_to(self, task: TaskDefinition) -> bool:
        return task.idempotent

    def wrap_handler(self, call: TaskCall, proceed: HandlerCall) -> BaseModel | None:
        if not call.task.idempotent:
            return proceed()
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
        )

        ran: list[BaseModel | None] = []

        def run(key: dict[str, str]) -> dict[str, Any]:
            ran.append(value := proceed())
            return {"result": _storable(call, value)}

        token = _deadline.set(call.context.deadline)
        try:
            stored = self.guard(run)(key=_key_data(call))
        except IdempotencyAlreadyInProgressError as exc:
            raise DuplicateInProgressError(
                f"task {call.message.task_id} is already running elsewhere"
            ) from exc
        except _UnstorableError as exc:
            return exc.value  # type: ignore[no-any-return]  # the dispatcher reports it as invalid
        finally:
            _deadline.reset(token)
        if ran:
            return ran[0]
        call.duplicate = True
        return _restore(call, stored)

    def guard(self, run: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        """``run`` wrapped by powertools' ``idempotent_function`` with this middleware's config."""
        from aws_lambda_powertools.utilities.idempotency import idempotent_function

        return idempotent_function(  # type: ignore[no-any-return]
            run,
            data_keyword_argument="key",
            persistence_store=self.persistence,
            config=self.config,
            key_prefix=KEY_PREFIX,
        )

    @property
    def persistence(self) -> BasePersistenceLayer:
        if not _is_persistence_layer(self._persistence):
            self._persistence = self._persistence()  # type: ignore[operator]
        return self._persistence  # type: ignore[return-value]

    @property
    def config(self) -> IdempotencyConfig:
        if self._config is None:
            from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

            self._config = IdempotencyConfig(
                expires_after_seconds=self.expires_after_seconds,
                raise_on_no_idempotency_key=True,
                lambda_context=_RemainingTime(self.expires_after_seconds),  # type: ignore[arg-type]
            )
        return self._config


def _key_data(call: TaskCall) -> dict[str, str]:
    """What is hashed into the key: the task type and the client's key or the message id."""
    message = call.message
    if message.idempotency_key:
        return {"task_type": call.task.name, "idempotency_key": message.idempotency_key}
    return {"task_type": call.task.name, "message_id": message.task_id}


def _storable(call: TaskCall, value: Any) -> Any:
    """The handler's result as JSON data, validated first so that no bad result is stored."""
    model = call.task.output_model
    if model is None or value is None:
        return None
    try:
        validated = value if isinstance(value, model) else model.model_validate(value)
    except ValidationError as exc:
        raise _UnstorableError(value) from exc
    return validated.model_dump(mode="json")


def _restore(call: TaskCall, stored: Any) -> BaseModel | None:
    model = call.task.output_model
    data = stored.get("result") if isinstance(stored, dict) else None
    if model is None or data is None:
        return None
    return model.model_validate(data)


def _is_persistence_layer(value: object) -> bool:
    return hasattr(value, "save_inprogress")

"""Structured logging bound to one task.

Every line about a task carries ``task_id``, ``task_type``, ``attempt`` and
``correlation_id`` (:func:`task_identity`), a follow-up's also its ``parent_task_id``, and
in Lambda the invocation's ``request_id``, so a log query can follow one task across
retries and back to the request that sent it.

The underlying logger is powertools' ``Logger`` (JSON lines in Lambda), created on first
use, so an app that never logs pays nothing for it.
"""

from __future__ import annotations

import logging
import typing
from collections.abc import Mapping
from contextlib import AbstractContextManager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from taskworker.messages import TaskMessage

_request_id: ContextVar[str | None] = ContextVar("taskworker_request_id", default=None)


def invocation(request_id: str | None) -> AbstractContextManager[None]:
    """Tag every task log line made inside with the Lambda invocation's request id."""
    return _Invocation(request_id)


class _Invocation:
    """:func:`invocation` as a plain context manager: entered once per Lambda invocation,
    where a generator-based one costs a microsecond more."""

    __slots__ = ("_request_id", "_token")

    def __init__(self, request_id: str | None) -> None:
        self._request_id = request_id

    def __enter__(self) -> None:
        self._token = _request_id.set(self._request_id)

    def __exit__(self, *exc_info: object) -> None:
        _request_id.reset(self._token)


def task_identity(message: TaskMessage) -> dict[str, Any]:
    """The keys that tie a log line to its task, its attempt, its request and invocation."""
    keys: dict[str, Any] = {
        "task_id": message.task_id,
        "task_type": message.task_type,
        "attempt": message.receive_count,
        "correlation_id": message.correlation_id,
    }
    if message.parent_task_id is not None:
        keys["parent_task_id"] = message.parent_task_id
    request_id = _request_id.get()
    if request_id is not None:
        keys["request_id"] = request_id
    return keys


class SupportsLogging(Protocol):
    """The part of ``logging.Logger`` (and powertools' ``Logger``) taskworker calls."""

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None: ...


class LazyLogger:
    """A powertools ``Logger`` for ``service``, built the first time a line is logged."""

    def __init__(self, service: str) -> None:
        self._service = service
        self._logger: SupportsLogging | None = None

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if self._logger is None:
            from aws_lambda_powertools import Logger

            self._logger = logger = typing.cast(SupportsLogging, Logger(service=self._service))
        else:
            logger = self._logger
        kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 1  # report the caller, not this wrapper
        logger.log(level, msg, *args, **kwargs)


class TaskLogger:
    """A logger whose every line carries the task's identifying keys."""

    __slots__ = ("_base", "_keys")

    def __init__(self, base: SupportsLogging, keys: Mapping[str, Any]) -> None:
        self._base = base
        self._keys = dict(keys)

    def bind(self, **keys: Any) -> TaskLogger:
        """A logger with more keys, for a sub-step of the task."""
        return TaskLogger(self._base, {**self._keys, **keys})

    def debug(self, msg: str, *args: Any, **extra: Any) -> None:
        self._log(logging.DEBUG, msg, args, extra)

    def info(self, msg: str, *args: Any, **extra: Any) -> None:
        self._log(logging.INFO, msg, args, extra)

    def warning(self, msg: str, *args: Any, **extra: Any) -> None:
        self._log(logging.WARNING, msg, args, extra)

    def error(self, msg: str, *args: Any, **extra: Any) -> None:
        self._log(logging.ERROR, msg, args, extra)

    def exception(self, msg: str, *args: Any, **extra: Any) -> None:
        self._log(logging.ERROR, msg, args, extra, exc_info=True)

    def _log(
        self, level: int, msg: str, args: tuple[Any, ...], extra: Mapping[str, Any], exc_info: bool = False
    ) -> None:
        self._base.log(level, msg, *args, extra={**self._keys, **extra}, exc_info=exc_info, stacklevel=3)

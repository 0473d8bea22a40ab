"""The registry: task names mapped to typed handlers, checked when they are declared.

Every mistake that can be caught at decoration time is caught there, with a message that
names the function and the fix, so a typo never surfaces as a poison message in production.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from taskworker.context import TaskContext
from taskworker.errors import TaskDefinitionError
from taskworker.queues import DEFAULT_QUEUE, check_queue_name
from taskworker.retry import NO_RETRY, Retry

TASK_NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
CONTEXT_PARAMETER_NAMES = frozenset({"ctx", "context"})
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


@dataclass(frozen=True, slots=True)
class TaskDefinition:
    """A registered task: its handler, its models and its policies."""

    name: str
    func: Callable[..., Any]
    input_model: type[BaseModel]
    output_model: type[BaseModel] | None
    takes_context: bool
    is_async: bool
    retry: Retry = NO_RETRY
    timeout: float | None = None
    idempotent: bool = True
    message_group: str | None = None
    queue: str = DEFAULT_QUEUE

    @property
    def group(self) -> str:
        """The FIFO group of this task's messages and result events when the sender names
        none: its ``message_group``, else its name (one group per type keeps each in order)."""
        return self.message_group or self.name

    def input_schema(self) -> dict[str, Any]:
        """JSON Schema (2020-12) of the payload, as the API validates it."""
        return self.input_model.model_json_schema()

    def output_schema(self) -> dict[str, Any] | None:
        """JSON Schema of the result, or ``None`` for tasks that return nothing."""
        return None if self.output_model is None else self.output_model.model_json_schema()


class Registry(Mapping[str, TaskDefinition]):
    """Task name to :class:`TaskDefinition`; read-only except through :meth:`register`."""

    def __init__(self) -> None:
        self._tasks: dict[str, TaskDefinition] = {}

    def __getitem__(self, name: str) -> TaskDefinition:
        return self._tasks[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tasks)

    def __len__(self) -> int:
        return len(self._tasks)

    def lookup(self, name: str | None) -> TaskDefinition | None:
        """The task registered as ``name``, or ``None`` (a plain dict lookup: hot path)."""
        return self._tasks.get(name) if name else None

    def register(
        self,
        name: str,
        func: Callable[..., Any],
        *,
        retry: Retry | None = None,
        timeout: float | None = None,
        idempotent: bool = True,
        message_group: str | None = None,
        queue: str = DEFAULT_QUEUE,
        accept: Callable[[TaskDefinition], None] | None = None,
    ) -> TaskDefinition:
        """Check and add a task; ``accept`` (the app's queue check) may refuse it first."""
        where = _describe(func)
        _check_name(name, where)
        _check_options(
            where, retry=retry, timeout=timeout, idempotent=idempotent, message_group=message_group
        )
        check_queue_name(queue, where)
        if name in self._tasks:
            other = _describe(self._tasks[name].func)
            raise TaskDefinitionError(
                f"{where}: task name {name!r} is already registered by {other}; "
                "task names must be unique within an app"
            )
        input_model, output_model, takes_context = _inspect_signature(func, where)
        definition = TaskDefinition(
            name=name,
            func=func,
            input_model=input_model,
            output_model=output_model,
            takes_context=takes_context,
            is_async=inspect.iscoroutinefunction(func),
            retry=retry or NO_RETRY,
            timeout=timeout,
            idempotent=idempotent,
            message_group=message_group,
            queue=queue,
        )
        if accept is not None:
            accept(definition)
        self._tasks[name] = definition
        return definition

    def schemas(self) -> dict[str, dict[str, Any]]:
        """Every task's input and output JSON Schema, keyed by task name."""
        return {
            name: {"input": task.input_schema(), "output": task.output_schema()}
            for name, task in sorted(self._tasks.items())
        }


def _describe(func: Callable[..., Any]) -> str:
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', repr(func))}"


def _check_name(name: Any, where: str) -> None:
    if not isinstance(name, str) or not TASK_NAME.match(name):
        raise TaskDefinitionError(
            f"{where}: invalid task name {name!r}; use 1-64 characters of lowercase letters, "
            "digits, '.', '_' or '-', starting with a letter (for example 'report.generate')"
        )


def derived_name(func: Callable[..., Any]) -> str:
    """The task name of a bare ``@app.task``: the function's name, lowercased."""
    return str(getattr(func, "__name__", "")).lower()


def _check_options(where: str, *, retry: Any, timeout: Any, idempotent: Any, message_group: Any) -> None:
    """The decorator's options, checked now: a wrong type would otherwise fail per message."""
    if retry is not None and not isinstance(retry, Retry):
        raise TaskDefinitionError(
            f"{where}: retry={retry!r} is not a Retry policy; write e.g. retry=Retry(attempts=3)"
        )
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0
    ):
        raise TaskDefinitionError(
            f"{where}: timeout={timeout!r} must be a positive number of seconds, e.g. timeout=10"
        )
    if not isinstance(idempotent, bool):
        raise TaskDefinitionError(f"{where}: idempotent={idempotent!r} must be True or False")
    if message_group is not None and not isinstance(message_group, str):
        raise TaskDefinitionError(f"{where}: message_group={message_group!r} must be a string")


def _inspect_signature(
    func: Callable[..., Any], where: str
) -> tuple[type[BaseModel], type[BaseModel] | None, bool]:
    if not callable(func):
        raise TaskDefinitionError(f"{where}: @app.task must decorate a function")
    try:
        hints = typing.get_type_hints(func)
    except Exception as exc:
        raise TaskDefinitionError(
            f"{where}: cannot resolve its type annotations ({exc}); "
            "import the annotated types at module level"
        ) from exc
    parameters = list(inspect.signature(func).parameters.values())
    if not parameters:
        raise TaskDefinitionError(
            f"{where}: a task takes its payload as first parameter, e.g. "
            "'def handler(req: MyInput, ctx: TaskContext) -> MyOutput'"
        )
    if parameters[0].kind not in _POSITIONAL:
        raise TaskDefinitionError(
            f"{where}: the payload parameter {parameters[0].name!r} must be positional (the "
            "runtime passes it first); remove the '*' before it"
        )
    input_model = _input_model(parameters[0], hints, where)
    takes_context = _context_parameter(parameters[1:], hints, where)
    return input_model, _output_model(hints, where), takes_context


def _input_model(parameter: inspect.Parameter, hints: dict[str, Any], where: str) -> type[BaseModel]:
    annotation = hints.get(parameter.name)
    if not _is_model(annotation):
        found = "no annotation" if annotation is None else f"{annotation!r}"
        raise TaskDefinitionError(
            f"{where}: parameter {parameter.name!r} must be annotated with a pydantic BaseModel "
            f"subclass (found {found}); declare e.g. 'class MyInput(BaseModel): ...'"
        )
    return typing.cast(type[BaseModel], annotation)


def _output_model(hints: dict[str, Any], where: str) -> type[BaseModel] | None:
    if "return" not in hints:
        raise TaskDefinitionError(
            f"{where}: missing return annotation; annotate it with a pydantic BaseModel "
            "subclass, or '-> None' for a task that returns nothing"
        )
    annotation = hints["return"]
    if annotation is None or annotation is type(None):
        return None
    if not _is_model(annotation):
        raise TaskDefinitionError(
            f"{where}: return annotation {annotation!r} is not a pydantic BaseModel subclass; "
            "wrap the result in a model, or annotate '-> None'"
        )
    return typing.cast(type[BaseModel], annotation)


def _context_parameter(rest: list[inspect.Parameter], hints: dict[str, Any], where: str) -> bool:
    if not rest:
        return False
    first, *extra = rest
    annotation = hints.get(first.name)
    if first.name in hints and annotation is not TaskContext:
        raise TaskDefinitionError(
            f"{where}: parameter {first.name!r} is annotated {annotation!r}; the second parameter "
            f"is the task's context: annotate it '{first.name}: TaskContext', or move the value "
            "into the payload model"
        )
    is_context = annotation is TaskContext or first.name in CONTEXT_PARAMETER_NAMES
    if is_context and first.kind not in _POSITIONAL:
        raise TaskDefinitionError(
            f"{where}: the context parameter {first.name!r} must be positional (the runtime "
            "passes it second); remove the '*' before it"
        )
    if not is_context or any(p.default is inspect.Parameter.empty for p in extra):
        raise TaskDefinitionError(
            f"{where}: a task takes at most two parameters, the payload model and "
            "'ctx: TaskContext'; move other inputs into the payload model"
        )
    return True


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)

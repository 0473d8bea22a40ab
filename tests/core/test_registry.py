"""Declaring tasks: what the decorator accepts, what it refuses, what it exports."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from taskworker import Retry, TaskApp, TaskContext, TaskDefinitionError


class In(BaseModel):
    n: int


class Out(BaseModel):
    doubled: int


def test_decorator_returns_the_function_unchanged_and_registers_it() -> None:
    app = TaskApp("t")

    @app.task("math.double", timeout=3, retry=Retry(attempts=2))
    def double(req: In) -> Out:
        return Out(doubled=req.n * 2)

    assert double(In(n=2)) == Out(doubled=4)
    task = app.registry["math.double"]
    assert (task.input_model, task.output_model) == (In, Out)
    assert (task.timeout, task.retry.attempts, task.takes_context, task.is_async) == (3, 2, False, False)


def test_context_parameter_and_async_handlers_are_detected() -> None:
    app = TaskApp("t")

    @app.task("a")
    async def handler(req: In, ctx: TaskContext) -> None: ...

    task = app.registry["a"]
    assert task.takes_context
    assert task.is_async
    assert task.output_model is None


def test_unannotated_ctx_parameter_is_accepted_by_name() -> None:
    app = TaskApp("t")

    @app.task("a")
    def handler(req: In, ctx) -> None: ...  # type: ignore[no-untyped-def]

    assert app.registry["a"].takes_context


@pytest.mark.parametrize("name", ["", "Report", "1report", "report generate", "r" * 65, "report/x"])
def test_invalid_names_are_refused_naming_the_function_and_the_rule(name: str) -> None:
    app = TaskApp("t")
    with pytest.raises(TaskDefinitionError, match=r"test_registry\..*invalid task name.*lowercase"):

        @app.task(name)
        def handler(req: In) -> None: ...


def test_longest_valid_name_is_accepted() -> None:
    app = TaskApp("t")
    name = "r" + "x" * 63

    @app.task(name)
    def handler(req: In) -> None: ...

    assert name in app.registry


def test_duplicate_names_are_refused_naming_both_functions() -> None:
    app = TaskApp("t")

    @app.task("dup")
    def first(req: In) -> None: ...

    with pytest.raises(TaskDefinitionError, match=r"second.*already registered by .*first"):

        @app.task("dup")
        def second(req: In) -> None: ...


def test_missing_input_annotation_is_refused_with_the_fix() -> None:
    app = TaskApp("t")
    with pytest.raises(TaskDefinitionError, match=r"no_annotation.*'req' must be annotated.*BaseModel"):

        @app.task("a")
        def no_annotation(req) -> None: ...  # type: ignore[no-untyped-def]


def test_non_pydantic_input_is_refused() -> None:
    app = TaskApp("t")
    with pytest.raises(TaskDefinitionError, match=r"BaseModel subclass \(found <class 'dict'>\)"):

        @app.task("a")
        def handler(req: dict) -> None: ...  # type: ignore[type-arg]


def test_missing_return_annotation_is_refused_with_the_fix() -> None:
    app = TaskApp("t")
    with pytest.raises(TaskDefinitionError, match=r"missing return annotation.*'-> None'"):

        @app.task("a")
        def handler(req: In):  # type: ignore[no-untyped-def]
            return None


def test_non_pydantic_return_is_refused() -> None:
    app = TaskApp("t")
    with pytest.raises(TaskDefinitionError, match=r"return annotation .*int.* is not a pydantic"):

        @app.task("a")
        def handler(req: In) -> int:
            return 1


def test_extra_parameters_and_no_parameters_are_refused() -> None:
    app = TaskApp("t")
    with pytest.raises(TaskDefinitionError, match=r"annotate it .other: TaskContext., or move the value"):

        @app.task("a")
        def handler(req: In, other: int) -> None: ...

    with pytest.raises(TaskDefinitionError, match="first parameter"):

        @app.task("b")
        def nothing() -> None: ...


def test_non_positive_timeout_is_refused() -> None:
    app = TaskApp("t")
    with pytest.raises(TaskDefinitionError, match="timeout=0"):

        @app.task("a", timeout=0)
        def handler(req: In) -> None: ...


def test_unresolvable_string_annotations_are_refused_clearly() -> None:
    app = TaskApp("t")
    with pytest.raises(TaskDefinitionError, match="cannot resolve its type annotations"):

        @app.task("a")
        def handler(req: NotDefinedAnywhere) -> None: ...  # type: ignore[name-defined]  # noqa: F821


def test_schemas_are_exported_per_task() -> None:
    app = TaskApp("t")

    @app.task("math.double")
    def double(req: In) -> Out:
        return Out(doubled=req.n * 2)

    @app.task("math.noop")
    def noop(req: In) -> None: ...

    schemas = app.schemas()
    assert list(schemas) == ["math.double", "math.noop"]
    assert schemas["math.double"]["input"]["properties"]["n"]["type"] == "integer"
    assert schemas["math.double"]["output"]["required"] == ["doubled"]
    assert schemas["math.noop"]["output"] is None

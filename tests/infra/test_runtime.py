"""The default Lambda runtime: the newest one Lambda still accepts that this machine can
compile bytecode for; sources only (newest accepted) when there is none."""

from __future__ import annotations

import datetime
import os
import stat
from pathlib import Path

import pytest

pytest.importorskip("aws_cdk")

from taskworker_infra.runtime import (
    default_python_runtime,
    host_python_version,
    interpreter_for,
    latest_python_runtime,
)

BEFORE_ANY_DEPRECATION = datetime.date(2026, 1, 1)
AFTER_EVERY_DEPRECATION = datetime.date(2031, 1, 1)


@pytest.fixture
def path_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """PATH holding only fake ``python3.X`` executables that answer a version (or fail)."""

    def install(name: str, answer: str | None) -> None:
        script = tmp_path / name
        script.write_text("#!/bin/sh\n" + (f"echo '{answer}'\n" if answer else "echo nope >&2; exit 127\n"))
        script.chmod(script.stat().st_mode | stat.S_IEXEC)

    monkeypatch.setenv("PATH", str(tmp_path))
    interpreter_for.cache_clear()
    yield install
    interpreter_for.cache_clear()


def _minor(version: str) -> int:
    return int(version.split(".")[1])


def test_the_synthesizing_python_wins_while_lambda_accepts_it(path_with) -> None:
    assert default_python_runtime(BEFORE_ANY_DEPRECATION).name == f"python{host_python_version()}"


def test_a_newer_python_on_path_is_used_to_compile_for_a_newer_runtime(path_with) -> None:
    newest = latest_python_runtime().name.removeprefix("python")
    path_with(f"python{newest}", f"CPython 3 {_minor(newest)}")
    assert default_python_runtime(BEFORE_ANY_DEPRECATION).name == f"python{newest}"
    found = interpreter_for(newest)
    assert found is not None
    assert os.path.basename(found) == f"python{newest}"


def test_a_shim_that_does_not_run_is_no_compiler(path_with) -> None:
    newest = latest_python_runtime().name.removeprefix("python")
    path_with(f"python{newest}", None)  # e.g. pyenv's shim for a version not selected
    assert interpreter_for(newest) is None


def test_a_runtime_lambda_refuses_for_new_functions_is_never_the_default(path_with) -> None:
    # python3.11 is refused from 2026-07-31: bytecode for it would be bytecode nobody can deploy
    later = datetime.date(2026, 8, 1)
    assert default_python_runtime(later).name != "python3.11"


@pytest.mark.skipif(host_python_version() != "3.11", reason="needs a host whose runtime Lambda refuses")
def test_without_a_compiler_for_an_accepted_runtime_the_newest_ships_sources(path_with) -> None:
    assert default_python_runtime(datetime.date(2026, 8, 1)).name == latest_python_runtime().name


def test_once_lambda_refuses_every_known_runtime_the_newest_is_still_the_answer(path_with) -> None:
    assert default_python_runtime(AFTER_EVERY_DEPRECATION).name == latest_python_runtime().name

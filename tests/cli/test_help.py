"""``--help`` names every option's default (rich read ``[default: ...]`` written into a help
text as markup and dropped it, leaving "Task queue URL .")."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from taskworker.cli import app as cli


def commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command below ``group`` (typer's own click) with the words that call it."""
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from commands(command, (*path, name))
        else:
            yield (*path, name), command


ALL_COMMANDS = sorted(commands(typer.main.get_command(cli)), key=lambda found: found[0])


def option_line(help_text: str, name: str) -> str:
    """The row of the options table that describes ``name``."""
    (line,) = [line for line in help_text.splitlines() if re.match(rf"│ +{name}(?![\w-])", line)]
    return line


@pytest.mark.parametrize(("path", "command"), ALL_COMMANDS, ids=[" ".join(p) for p, _ in ALL_COMMANDS])
def test_every_option_of_every_command_shows_its_default(monkeypatch, path, command):
    monkeypatch.setattr("typer.rich_utils.MAX_WIDTH", 400)  # one line per option, to read it
    result = CliRunner().invoke(cli, [*path, "--help"], catch_exceptions=False)
    assert result.exit_code == 0
    options = [p for p in command.params if p.param_type_name == "option" and p.name != "help"]
    for option in options:
        assert "[default: " in option_line(result.stdout, option.opts[0]), option.opts[0]
    assert " . " not in result.stdout  # no text lost to markup
    assert " .\n" not in result.stdout


def test_help_as_a_user_sees_it_names_defaults_that_are_settings_or_rules():
    env = {**os.environ, "TERMINAL_WIDTH": "300"}
    shown = {}
    for command in (["worker"], ["send"], ["status"], ["dlq", "list"], ["console"], ["dev"]):
        done = subprocess.run(
            [sys.executable, "-m", "taskworker.cli", *command, "--help"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=True,
        )
        shown[command[-1]] = done.stdout
    assert "[default: ($TASKWORKER_QUEUE_URL)]" in option_line(shown["worker"], "--queue-url")
    assert "[default: (16 threads, or one process per CPU)]" in option_line(shown["worker"], "--concurrency")
    assert "[default: 20]" in option_line(shown["worker"], "--wait-time")
    assert "[default: ($TASKWORKER_DLQ_URL)]" in option_line(shown["worker"], "--dlq-url")
    assert "[default: (the queue's delay)]" in option_line(shown["send"], "--delay")
    assert "[default: ($TASKWORKER_STATUS_TABLE)]" in option_line(shown["status"], "--status-table")
    assert "[default: 20]" in option_line(shown["list"], "--limit")
    assert "[default: 127.0.0.1]" in option_line(shown["console"], "--host")
    assert "[default: (none on loopback, else generated and printed)]" in option_line(
        shown["console"], "--token"
    )
    assert "[default: (as deployed: slowest task + 30 s)]" in option_line(shown["dev"], "--function-timeout")

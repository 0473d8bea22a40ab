"""A failure the user can act on is one line naming what is missing and how to set it, with
the exit code the README's table gives its kind; no traceback, whatever the command."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from taskworker.cli import AWS_ERROR, FAILED, USAGE_ERROR
from tests.cli.helpers import invoke, one_line, put_dead_letters, taskworker
from tests.worker.helpers import queue_depth

README = Path(__file__).parents[2] / "README.md"
NOTIFY = '{"email": "a@b.c", "subject": "hi"}'


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


REGION = {"AWS_DEFAULT_REGION": "eu-west-1"}
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}
QUEUES = {"TASKWORKER_QUEUE_URL": "http://127.0.0.1:9/q", "TASKWORKER_DLQ_URL": "http://127.0.0.1:9/d"}
AWS_COMMANDS = [  # one of each way in: DLQ tooling, status table, client, worker
    ("dlq", "list"),
    ("status", "t-1", "--status-table", "statuses"),
    ("send", "examples.reports:app", "report.notify", NOTIFY),
    ("worker", "examples.reports:app", "--exit-when-empty"),
]


@pytest.mark.parametrize("command", AWS_COMMANDS, ids=lambda command: command[0])
def test_no_region_is_one_line_naming_the_variables_exit_3(command):
    done = taskworker(*command, **CREDENTIALS, **QUEUES)
    assert done.returncode == AWS_ERROR
    assert "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION)" in one_line(done)


@pytest.mark.parametrize("command", AWS_COMMANDS, ids=lambda command: command[0])
def test_no_credentials_is_one_line_naming_the_variables_exit_3(command):
    done = taskworker(*command, **REGION, **QUEUES)
    assert done.returncode == AWS_ERROR
    assert "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE" in one_line(
        done
    )


def test_an_unreachable_endpoint_is_one_line_naming_it_exit_3():
    endpoint = f"http://127.0.0.1:{closed_port()}"
    done = taskworker(
        "dlq", "list", AWS_ENDPOINT_URL=endpoint, AWS_MAX_ATTEMPTS="1", **REGION, **CREDENTIALS, **QUEUES
    )
    assert done.returncode == AWS_ERROR
    line = one_line(done)
    assert f'Could not connect to the endpoint URL: "{endpoint}/"' in line
    assert "check AWS_ENDPOINT_URL" in line


def test_aws_refusing_a_call_is_one_line_with_its_code_and_what_to_check_exit_3(env, monkeypatch):
    monkeypatch.setenv("TASKWORKER_DLQ_URL", env.dlq_url + "-gone")
    result = invoke("dlq", "list")
    assert result.exit_code == AWS_ERROR
    line = one_line(result)
    assert "AWS refused ReceiveMessage: AWS.SimpleQueueService.NonExistentQueue" in line
    assert "(check TASKWORKER_QUEUE_URL / TASKWORKER_DLQ_URL)" in line


def test_error_text_is_never_read_as_markup(env, monkeypatch):
    monkeypatch.setenv("TASKWORKER_MAX_RECEIVE_COUNT", "[bold]5[/bold]")
    result = invoke("dlq", "list")
    assert result.exit_code == USAGE_ERROR
    assert "TASKWORKER_MAX_RECEIVE_COUNT='[bold]5[/bold]'" in one_line(result)


def test_each_exit_code_means_what_the_readme_says(env):
    assert invoke("schema", "examples.reports:app").exit_code == 0
    assert invoke("dlq", "show", "t-not-there").exit_code == FAILED
    assert invoke("send", "examples.reports:app", "report.notify", "{").exit_code == USAGE_ERROR
    assert invoke("send", "examples.reports:app", "--no-such-option").exit_code == USAGE_ERROR  # click's
    assert invoke("status", "t-1", "--status-table", "no-such-table").exit_code == AWS_ERROR
    table = README.read_text().split("Exit codes:", 1)[1].strip().split("\n\n", 1)[0]
    rows = dict(re.findall(r"^\| (\d) \| (.*) \|$", table, re.M))
    assert set(rows) == {"0", str(FAILED), str(USAGE_ERROR), str(AWS_ERROR)}
    for code, words in (
        (0, "success"),
        (FAILED, "the command ran"),
        (USAGE_ERROR, "usage"),
        (AWS_ERROR, "AWS"),
    ):
        assert rows[str(code)].startswith(words)


def test_worker_names_the_queue_it_could_not_read_exit_3(env, monkeypatch):
    monkeypatch.setenv("TASKWORKER_QUEUE_URL", env.queue_url + "-gone")
    result = invoke("worker", "examples.reports:app", "--exit-when-empty", "--wait-time", "0")
    assert result.exit_code == AWS_ERROR
    line = one_line(result)
    assert f"cannot read queue {env.queue_url}-gone" in line
    assert "NonExistentQueue" in line


def test_a_redrive_cut_short_is_an_aws_error_and_leaves_the_messages_in_the_dlq(env, monkeypatch):
    put_dead_letters(env.sqs, env.dlq_url, 3)
    monkeypatch.setenv("TASKWORKER_QUEUE_URL", env.queue_url + "-gone")
    result = invoke("dlq", "redrive", "--manual")
    assert result.exit_code == AWS_ERROR
    assert "error: 3 messages could not be sent back" in result.stderr
    assert "Traceback" not in result.output
    assert queue_depth(env.sqs, env.dlq_url) == (3, 0)

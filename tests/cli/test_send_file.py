"""``taskworker send --file``: ids printed in the file's order, every bad line named before
anything is sent, ``-`` for stdin, and the lines SQS did not take named too."""

from __future__ import annotations

import json
from typing import Any

from taskworker.cli import AWS_ERROR, USAGE_ERROR
from tests.cli.helpers import invoke, receive_all, taskworker
from tests.worker.helpers import queue_depth


def notify(n: int) -> str:
    return json.dumps({"task_type": "report.notify", "payload": {"email": "a@b.c", "subject": f"s{n}"}})


def subjects_by_id(env: Any) -> dict[str, str]:
    return {m["MessageId"]: json.loads(m["Body"])["subject"] for m in receive_all(env.sqs, env.queue_url)}


def test_prints_each_task_id_in_the_order_of_the_file(env, tmp_path):
    path = tmp_path / "tasks.jsonl"
    path.write_text("\n".join([notify(0), "", notify(1), "   ", *(notify(n) for n in range(2, 25))]) + "\n")
    result = invoke("send", "examples.reports:app", "--file", str(path))
    assert result.exit_code == 0, result.output
    ids = result.stdout.split()
    assert len(ids) == 25
    sent = subjects_by_id(env)
    assert [sent[task_id] for task_id in ids] == [f"s{n}" for n in range(25)]
    assert "sent 25 tasks" in result.stderr


def test_every_bad_line_is_named_and_nothing_is_sent(env, tmp_path):
    lines = [
        notify(1),
        '{"task_type": "report.notify", "payload": {"email": "a@b.c"',
        "",
        '["report.notify", {}]',
        json.dumps({"task_type": "report.generate", "payload": {"account_id": "a", "month": "26-1"}}),
        json.dumps({"task_type": "report.nope", "payload": {}}),
        json.dumps({"task_type": "report.notify", "payload": {}, "priority": 1}),
        json.dumps({"payload": {}}),
        notify(9),
    ]
    path = tmp_path / "tasks.jsonl"
    path.write_text("\n".join(lines))
    result = invoke("send", "examples.reports:app", "--file", str(path))
    assert result.exit_code == USAGE_ERROR
    problems = result.stderr.strip().splitlines()
    assert problems[0].startswith(f"{path}:2: not valid JSON (")
    assert problems[1] == f'{path}:4: expected a JSON object: {{"task_type": ..., "payload": ...}}'
    assert problems[2].startswith(f"{path}:5: invalid payload for report.generate: month")
    assert problems[3].startswith(f"{path}:6: unknown task type 'report.nope'")
    assert problems[4].startswith(f"{path}:7: unknown task fields ['priority']")
    assert problems[5] == f"{path}:8: each task needs a 'task_type' string"
    assert problems[6] == f"error: 6 bad line(s) in {path}; nothing was sent"
    assert len(problems) == 7
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert queue_depth(env.sqs, env.queue_url) == (0, 0)


def test_a_dash_reads_the_tasks_from_stdin(env):
    result = invoke("send", "examples.reports:app", "--file", "-", stdin=f"{notify(1)}\n{notify(2)}\n")
    assert result.exit_code == 0, result.output
    sent = subjects_by_id(env)
    assert [sent[task_id] for task_id in result.stdout.split()] == ["s1", "s2"]
    bad = invoke("send", "examples.reports:app", "-f", "-", stdin=f"{notify(3)}\nnope\n")
    assert bad.exit_code == USAGE_ERROR
    assert bad.stderr.startswith("stdin:2: not valid JSON")
    assert queue_depth(env.sqs, env.queue_url) == (0, 2)  # only the first two, received above


def test_an_empty_file_or_a_missing_one_is_a_usage_error(env, tmp_path):
    (tmp_path / "empty.jsonl").write_text("\n\n")
    empty = invoke("send", "examples.reports:app", "--file", str(tmp_path / "empty.jsonl"))
    assert (empty.exit_code, empty.stderr.strip()) == (
        USAGE_ERROR,
        f"error: no tasks in {tmp_path}/empty.jsonl",
    )
    missing = invoke("send", "examples.reports:app", "--file", str(tmp_path / "gone.jsonl"))
    assert missing.exit_code == USAGE_ERROR
    assert "cannot read" in missing.stderr


def test_lines_sqs_did_not_take_are_named_with_the_reason_exit_3():
    done = taskworker(
        "send",
        "examples.reports:app",
        "--file",
        "-",
        stdin=f"{notify(1)}\n\n{notify(2)}\n",
        AWS_DEFAULT_REGION="eu-west-1",  # but no credentials
        TASKWORKER_QUEUE_URL="http://127.0.0.1:9/q",
    )
    assert done.returncode == AWS_ERROR
    assert done.stdout == ""  # none was sent, so no id
    named = [line for line in done.stderr.splitlines() if line.startswith("stdin:")]
    assert [line.split(": not sent: ")[0] for line in named] == ["stdin:1", "stdin:3"]
    assert all("NoCredentialsError" in line for line in named)
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith("error: 2 of 2 tasks were not sent: no AWS credentials: set AWS_ACCESS_KEY_ID")
    )
    assert "Traceback" not in done.stderr

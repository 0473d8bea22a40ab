"""The console's pages: one function per route, each rendering one template.

Reads are plain functions (starlette runs them in its thread pool, since boto3 blocks).
The two changes, redrive and delete, go through :func:`_change`: refused (403) without
``--allow-changes`` or without the form's CSRF token, answered with a confirmation page
until the form comes back with ``confirm=yes``, and only then done.

The dead-letter page and both changes act on one queue's DLQ, named by the ``queue``
parameter (the default queue's when absent) and redriven to that queue; a name the
console knows no DLQ for is a 404 (:func:`unknown_queue`), before anything is read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, RedirectResponse, Response

from taskworker.console import safety
from taskworker.console.chart import depth_chart
from taskworker.console.render import render
from taskworker.console.tasks import recent_tasks
from taskworker.console.web import (
    DLQ_PAGE_LIMIT,
    PAYLOAD_SCAN_LIMIT,
    Console,
    console_of,
    pretty_json,
    read_form,
)
from taskworker.status import StatusTable

if TYPE_CHECKING:
    from starlette.requests import Request

    from taskworker.dlq_admin import DeadLetters

AWS_ERRORS = (BotoCoreError, ClientError)


def aws_error(request: Request, exc: Exception) -> Response:
    """An AWS (or endpoint) error as a page with its one-line reason, never a traceback."""
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return page(console_of(request), "done.html", action="AWS error", message=reason, status=502)


def unknown_queue(request: Request, exc: Exception) -> Response:
    return page(console_of(request), "done.html", action="unknown queue", message=str(exc), status=404)


def home(request: Request) -> Response:
    return RedirectResponse("/queues", status_code=303)


def queues_page(request: Request) -> Response:
    console = console_of(request)
    if console.sampler is None:
        return page(console, "queues.html", sample=None, urls={}, chart="", nothing="no queue configured")
    sample = console.sampler.current()
    chart = depth_chart(console.sampler.samples())
    urls = console.sampler.queues
    age = console.sampler.clock() - sample.at
    return page(console, "queues.html", sample=sample, age=age, urls=urls, chart=chart, nothing=None)


def dlq_page(request: Request) -> Response:
    console = console_of(request)
    if not console.dlqs:
        return page(console, "dlq.html", letters=[], depth=None, queue=None, nothing="no DLQ configured")
    queue = console.queue_named(request.query_params.get("queue"))
    letters = console.dead_letters(queue)
    return page(
        console,
        "dlq.html",
        letters=letters.peek(DLQ_PAGE_LIMIT),
        depth=letters.depth(),
        queue=queue,
        nothing=None,
    )


def tasks_page(request: Request) -> Response:
    console = console_of(request)
    table = console.config.settings.status_table
    status, task_type = request.query_params.get("status") or None, request.query_params.get("type") or None
    if not table:
        return page(console, "tasks.html", listing=None, status_filter=status, type_filter=task_type)
    listing = recent_tasks(console.dynamodb, table, status=status, task_type=task_type)
    return page(console, "tasks.html", listing=listing, status_filter=status, type_filter=task_type)


def task_page(request: Request) -> Response:
    """A task's status; its payload only on ``?payload=1``, read from the DLQ (the status
    record never holds one)."""
    console = console_of(request)
    task_id = request.path_params["task_id"]
    table = console.config.settings.status_table
    record = StatusTable(table, console.dynamodb).get(task_id) if table else None
    reveal = request.query_params.get("payload") == "1"
    letter = None
    if reveal:  # each queue's DLQ in turn, the default queue's first, until one holds it
        found = (dlq.find(task_id, scan_limit=PAYLOAD_SCAN_LIMIT) for dlq in console.dlqs.values())
        letter = next((each for each in found if each is not None), None)
    return page(
        console,
        "task.html",
        task_id=task_id,
        record=record,
        result=pretty_json(record.result if record else None),
        reveal=reveal,
        letter=letter,
        payload=pretty_json(letter.body) if letter else "",
        status=200 if record or letter or reveal else 404,
    )


async def redrive(request: Request) -> Response:
    def act(letters: DeadLetters, task_ids: list[str] | None) -> str:
        report = letters.redrive(only=task_ids)
        done = f"redrove {report.moved} messages ({report.method})"
        return f"{done}; {report.note}" if report.note else done

    return await _change(request, "redrive", act)


async def delete(request: Request) -> Response:
    def act(letters: DeadLetters, task_ids: list[str] | None) -> str:
        if task_ids is None:
            raise ValueError("delete takes a selection, never the whole DLQ")
        deleted = letters.delete(task_ids)
        return f"deleted {len(deleted)} of {len(task_ids)} selected messages"

    return await _change(request, "delete", act)


async def _change(
    request: Request, action: str, act: Callable[[DeadLetters, list[str] | None], str]
) -> Response:
    console = console_of(request)
    if not console.config.allow_changes:
        return _refuse(console, "read-only console: start it with --allow-changes to change anything")
    form = await read_form(request)
    if form is None or not safety.same(_one(form, safety.CSRF_FIELD), console.config.csrf_token):
        return _refuse(console, "the form's CSRF token is missing or wrong: reload the page and try again")
    if not console.dlqs:
        return _refuse(console, "no DLQ configured")
    queue = console.queue_named(_one(form, "queue"))
    everything = _one(form, "all") == "yes"
    task_ids = None if everything else [t for t in form.get("task_id", []) if t]
    if task_ids == []:
        return page(console, "done.html", action=action, message="nothing selected", queue=queue, status=400)
    if _one(form, "confirm") != "yes":
        return page(console, "confirm.html", action=action, task_ids=task_ids, queue=queue)
    try:
        message = await run_in_threadpool(act, console.dead_letters(queue), task_ids)
    except Exception as exc:  # RedriveError, AWS errors: the reason, and the DLQ keeps the rest
        failed = f"{action} failed: {exc}"
        return page(console, "done.html", action=action, message=failed, queue=queue, status=502)
    return page(console, "done.html", action=action, message=message, queue=queue)


def _one(form: dict[str, list[str]], name: str) -> str | None:
    values = form.get(name)
    return values[0] if values else None


def _refuse(console: Console, reason: str) -> Response:
    return page(console, "done.html", action="refused", message=reason, status=403)


def page(console: Console, template: str, *, status: int = 200, **values: Any) -> Response:
    return HTMLResponse(render(template, console=console, **values), status_code=status)

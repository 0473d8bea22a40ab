"""The console as an ASGI app: its settings, its clients, the token guard and the routes.

Every page (:mod:`taskworker.console.pages`) is rendered on the server from the app's
settings (queue URL, DLQ URL, status table) with the process's boto3 clients; the guard
here checks the token of every request and adds the security headers to every answer.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from taskworker.console import safety
from taskworker.console.queues import DEFAULT_INTERVAL, QueueSampler
from taskworker.queues import DEFAULT_QUEUE
from taskworker.settings import Settings

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

    from taskworker.dlq_admin import DeadLetters

MAX_FORM_BYTES = 64 * 1024
DLQ_PAGE_LIMIT = 50
PAYLOAD_SCAN_LIMIT = 100
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
}


@dataclass
class ConsoleConfig:
    """How one console runs; the CLI fills it from its options and the app's settings."""

    settings: Settings
    allow_changes: bool = False
    """Redrive and delete exist only with this (``--allow-changes``)."""
    token: str | None = None
    """Required of every request; see :func:`taskworker.console.safety.required_token`."""
    sample_interval: float = DEFAULT_INTERVAL
    csrf_token: str = field(default_factory=safety.new_csrf_token)


@dataclass
class Console:
    """What the routes share: the config, the clients, the depth sampler and each queue's DLQ."""

    config: ConsoleConfig
    sqs: Any
    dynamodb: Any
    sampler: QueueSampler | None
    dlqs: Mapping[str, DeadLetters] = field(default_factory=dict)
    """Each queue's DLQ by queue name, the default queue's first (:func:`dead_letter_queues`)."""

    @property
    def several_dlqs(self) -> bool:
        """Whether the pages name the queue a DLQ belongs to (an app with declared queues)."""
        return len(self.dlqs) > 1

    def queue_named(self, name: str | None) -> str:
        """The queue whose DLQ a request means: ``name``, or the first (the default queue)
        when it names none. A name without a known DLQ raises, so a change never lands on
        another queue's DLQ, nor redrives to another queue."""
        from taskworker.dlq_admin import QueueNotFoundError

        if not name:
            return next(iter(self.dlqs))
        if name in self.dlqs:
            return name
        if name in (self.config.settings.queue_urls or {}):
            raise QueueNotFoundError(f"queue {name!r} has no DLQ the console could find (no RedrivePolicy?)")
        known = ", ".join(self.dlqs) or "none"
        raise QueueNotFoundError(f"unknown queue {name!r}: the console knows the DLQs of {known}")

    def dead_letters(self, queue: str | None = None) -> DeadLetters:
        """The DLQ of ``queue`` (see :meth:`queue_named`), redriven to that queue."""
        return self.dlqs[self.queue_named(queue)]


def dead_letter_queues(sqs: Any, settings: Settings) -> dict[str, DeadLetters]:
    """Each queue's DLQ by queue name, each redriven to its own queue, found once at start.

    The settings' own queue (``TASKWORKER_QUEUE``, else the default queue) has
    ``TASKWORKER_DLQ_URL``, as before queues could be declared; every other queue in
    ``TASKWORKER_QUEUE_URLS`` has the DLQ ``taskworker dlq --queue NAME`` finds
    (:func:`taskworker.dlq_admin.of_queue`: its RedrivePolicy). A queue without one (no
    policy, or no permission to read it) is left out. The default queue comes first.
    """
    from taskworker.dlq_admin import DeadLetters, of_queue

    own = settings.own_queue
    found = {own: DeadLetters(sqs, settings.dlq_url, settings.url_of(own))} if settings.dlq_url else {}
    for name in settings.queue_urls or {}:
        if name not in found:
            with contextlib.suppress(Exception):  # no policy, or no permission: no DLQ to show
                found[name] = of_queue(sqs, settings, name)
    return dict(sorted(found.items(), key=lambda item: item[0] != DEFAULT_QUEUE))


def depth_queues(settings: Settings, dlqs: Mapping[str, DeadLetters]) -> dict[str, str]:
    """The queues the Queues page shows, by key: ``queue`` and ``dlq`` (the settings' own
    queue and DLQ), then ``queue:NAME`` and ``dlq:NAME`` for every other queue of the app
    in ``TASKWORKER_QUEUE_URLS``, each DLQ as :func:`dead_letter_queues` found it."""
    queues = {key: url for key, url in (("queue", settings.queue_url), ("dlq", settings.dlq_url)) if url}
    for name, url in (settings.queue_urls or {}).items():
        if url == settings.queue_url:
            continue
        queues[f"queue:{name}"] = url
        if name in dlqs:
            queues[f"dlq:{name}"] = dlqs[name].dlq_url
    return queues


def create_app(config: ConsoleConfig, *, sqs: Any = None, dynamodb: Any = None) -> Starlette:
    """The console as an ASGI app; clients default to ``boto3.client(...)``."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.routing import Route

    if sqs is None or dynamodb is None:
        import boto3

        sqs, dynamodb = sqs or boto3.client("sqs"), dynamodb or boto3.client("dynamodb")
    settings = config.settings
    dlqs = dead_letter_queues(sqs, settings)
    queues = depth_queues(settings, dlqs)
    sampler = QueueSampler(sqs, queues, interval=config.sample_interval) if queues else None
    console = Console(config, sqs, dynamodb, sampler, dlqs)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if sampler is not None:
            sampler.start()
        try:
            yield
        finally:
            if sampler is not None:
                sampler.stop()

    from taskworker.console import pages
    from taskworker.dlq_admin import QueueNotFoundError

    routes = [
        Route("/", pages.home),
        Route("/queues", pages.queues_page),
        Route("/dlq", pages.dlq_page),
        Route("/dlq/redrive", pages.redrive, methods=["POST"]),
        Route("/dlq/delete", pages.delete, methods=["POST"]),
        Route("/tasks", pages.tasks_page),
        Route("/tasks/{task_id:path}", pages.task_page),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(_Guard, config=config)],
        exception_handlers={
            **dict.fromkeys(pages.AWS_ERRORS, pages.aws_error),
            QueueNotFoundError: pages.unknown_queue,
        },
    )
    app.state.console = console
    return app


class _Guard:
    """Token check on every request, the security headers on every answer."""

    def __init__(self, app: Any, config: ConsoleConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from starlette.requests import Request

        request = Request(scope)
        refusal = self._refusal(request)
        if refusal is not None:
            refusal.headers.update(SECURITY_HEADERS)
            await refusal(scope, receive, send)
            return
        token = self.config.token
        cookie = token if token is not None and request.query_params.get(safety.TOKEN_PARAM) else None

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                if cookie is not None:
                    headers.append((b"set-cookie", _cookie(cookie).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _refusal(self, request: Request) -> Response | None:
        """401 without the token when one is required; 403 for a non-loopback ``Host``
        when none is (see :mod:`taskworker.console.safety`)."""
        from starlette.responses import PlainTextResponse

        token = self.config.token
        if token is not None:
            given = safety.presented_token(request.headers, request.cookies, request.query_params)
            return (
                None
                if safety.same(given, token)
                else PlainTextResponse("a valid console token is required", 401)
            )
        if safety.names_loopback(request.headers.get("host", "")):
            return None
        return PlainTextResponse("without a token the console answers loopback hosts only", 403)


def _cookie(token: str) -> str:
    return f"{safety.TOKEN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/"


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


async def read_form(request: Request) -> dict[str, list[str]] | None:
    """The urlencoded form, or ``None`` when it is too large (forms here are small)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)


def pretty_json(text: str | None) -> str:
    if text is None:
        return ""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text

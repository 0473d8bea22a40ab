"""Lambda settlement: decided after finish_batch, bounded by the invocation, only for SQS."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import BaseModel

from taskworker import Settings, TaskApp, TaskContext
from taskworker.aws import Clients
from taskworker.aws.batch import RetryPolicy
from taskworker.errors import AppLoadError
from taskworker.middleware import Middleware
from taskworker.middleware.results import ResultEvents
from taskworker.testing import FakeSQS, lambda_context, sqs_event, sqs_record
from tests.core.sns_stub import RefusingSNS

TOPIC = "arn:aws:sns:us-east-1:123456789012:results"


class Job(BaseModel):
    n: int


def jobs_app(clients: Clients, middleware: Sequence[Middleware] = (), **settings: Any) -> TaskApp:
    app = TaskApp(
        "settle",
        settings=Settings(**settings),
        clients=clients,
        middleware=middleware,
        logger=logging.getLogger("test.s"),
    )
    ran: list[int] = []
    app.ran = ran  # type: ignore[attr-defined]

    @app.task("job.run")
    def run(job: Job) -> None:
        ran.append(job.n)
        if job.n == 13:
            raise ConnectionError("unlucky")

    return app


def failures(response: dict[str, Any]) -> list[str]:
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


def test_a_fifo_message_whose_event_is_not_published_is_not_overtaken_by_its_group() -> None:
    first = sqs_record({"n": 1}, task_type="job.run", queue="jobs.fifo", group_id="g")
    second = sqs_record({"n": 2}, task_type="job.run", queue="jobs.fifo", group_id="g")
    other = sqs_record({"n": 3}, task_type="job.run", queue="jobs.fifo", group_id="h")
    sns = RefusingSNS({first["messageId"]}, times=100)
    app = jobs_app(Clients(sqs=FakeSQS(), sns=sns), result_topic_arn=TOPIC, backoff_base_seconds=0)
    response = app.lambda_handler(sqs_event([first, second, other]), lambda_context())
    # The first is requeued (its event is owed); the second must wait behind it.
    assert failures(response) == [first["messageId"], second["messageId"]]


def test_records_sharing_a_task_id_are_reported_by_their_own_message_ids() -> None:
    """Two copies of one task (e.g. redriven twice) in a batch: each is settled by its messageId."""
    attributes = {"task_type": "job.run", "task_id": "task-1"}
    ok = sqs_record({"n": 1}, message_attributes=attributes)
    unlucky = sqs_record({"n": 13}, message_attributes=attributes)
    app = jobs_app(Clients(sqs=FakeSQS()), backoff_base_seconds=0, max_receive_count=5)
    response = app.lambda_handler(sqs_event([ok, unlucky]), lambda_context())
    assert app.ran == [1, 13]  # type: ignore[attr-defined]
    assert failures(response) == [unlucky["messageId"]]


def test_fifo_result_events_are_published_in_group_order() -> None:
    """A group's first event fails: its later events are held back, never published first."""
    first = sqs_record({"n": 1}, task_type="job.run", queue="jobs.fifo", group_id="g")
    second = sqs_record({"n": 2}, task_type="job.run", queue="jobs.fifo", group_id="g")
    sns = RefusingSNS({first["messageId"]}, times=100)
    app = jobs_app(Clients(sqs=FakeSQS(), sns=sns), result_topic_arn=TOPIC + ".fifo", backoff_base_seconds=0)
    response = app.lambda_handler(sqs_event([first, second]), lambda_context())
    assert sns.published == []  # the second's event did not overtake the first's
    assert failures(response) == [first["messageId"], second["messageId"]]

    sns.refused.clear()  # SNS is back: the redelivered batch publishes both, in order
    response = app.lambda_handler(sqs_event([first, second]), lambda_context())
    assert failures(response) == []
    assert sns.published == [first["messageId"], second["messageId"]]


def test_a_held_back_fifo_failure_event_is_kept_not_published_in_its_batch() -> None:
    first = sqs_record({"n": 1}, task_type="job.run", queue="jobs.fifo", group_id="g")
    unlucky = sqs_record({"n": 13}, task_type="job.run", queue="jobs.fifo", group_id="g", receive_count=5)
    sns = RefusingSNS({first["messageId"]}, times=100)
    app = jobs_app(Clients(sqs=FakeSQS(), sns=sns), result_topic_arn=TOPIC + ".fifo", max_receive_count=5)
    app.lambda_handler(sqs_event([first, unlucky]), lambda_context())
    assert sns.published == []  # the last receive's failure waits behind the first's event
    sns.refused.clear()  # kept, not lost: published with the next batch, as the first's is
    app.lambda_handler(sqs_event([first]), lambda_context())
    assert sorted(sns.published) == sorted([first["messageId"], unlucky["messageId"]])


def test_an_sns_event_is_not_taken_for_an_sqs_event(caplog: pytest.LogCaptureFixture) -> None:
    app = jobs_app(Clients(sqs=FakeSQS()))
    event = {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:t:sub",
                "Sns": {"MessageId": "m-1", "Message": "{}"},
            }
        ]
    }
    with caplog.at_level(logging.ERROR, logger="test.s"):
        assert app.lambda_handler(event, lambda_context()) == {"batchItemFailures": []}
    assert app.ran == []  # type: ignore[attr-defined]
    assert any("not an SQS event" in r.getMessage() for r in caplog.records)


def test_a_kinesis_event_is_not_taken_for_an_sqs_event() -> None:
    app = jobs_app(Clients(sqs=FakeSQS()))
    event = {"Records": [{"eventSource": "aws:kinesis", "eventID": "shard-1:1", "kinesis": {}}]}
    assert app.lambda_handler(event, lambda_context()) == {"batchItemFailures": []}


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A TCP server on loopback that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(5)
    for connection in accepted:
        connection.close()
    server.close()


def point_boto3_at(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def invoke_ok_and_unlucky(app: TaskApp, timeout_ms: int) -> tuple[list[str], list[str], int]:
    """Invoke with a success and a failure in a thread that must end well before 60 s;
    returns the reported ids, the two records' ids, and the milliseconds left after."""
    ok = sqs_record({"n": 1}, task_type="job.run")
    unlucky = sqs_record({"n": 13}, task_type="job.run")
    context = lambda_context(timeout_ms=timeout_ms)
    answer: dict[str, Any] = {}

    def invoke() -> None:
        answer["response"] = app.lambda_handler(sqs_event([ok, unlucky]), context)
        answer["left_ms"] = context.get_remaining_time_in_millis()

    thread = threading.Thread(target=invoke, daemon=True)
    thread.start()
    thread.join(60)  # boto3's defaults, or a patient retry policy, would hang here for minutes
    assert not thread.is_alive(), "the invocation outlived its deadline"
    return failures(answer["response"]), [ok["messageId"], unlucky["messageId"]], answer["left_ms"]


def test_an_endpoint_that_never_answers_costs_only_the_records_it_concerns(
    silent_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_boto3_at(silent_endpoint, monkeypatch)
    app = jobs_app(Clients())  # real boto3 clients, against the silent endpoint
    reported, (_, unlucky), left_ms = invoke_ok_and_unlucky(app, timeout_ms=10_000)
    assert reported == [unlucky]
    assert left_ms > 0  # answered before Lambda would have killed it


@pytest.fixture
def failing_endpoint() -> Iterator[str]:
    """An HTTP server on loopback that answers every request with a 500 (retried by the
    batch helper, with backoff, for as long as its policy allows)."""

    class Refusing(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = b"<ErrorResponse><Error><Code>InternalError</Code></Error></ErrorResponse>"
            self.send_response(500)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_settlement_retries_end_before_the_deadline(
    failing_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """However patient a policy deep in the middleware, the settlement fits the invocation."""
    point_boto3_at(failing_endpoint, monkeypatch)
    clients = Clients()  # real boto3 clients, against an endpoint that answers 500
    patient = RetryPolicy(attempts=10_000, budget=600.0, base=0.2, cap=0.2, random=lambda: 1.0)
    events = ResultEvents(TOPIC, lambda: clients.sns, logger=logging.getLogger("test.s"), policy=patient)
    app = jobs_app(clients, [events], backoff_base_seconds=0, max_receive_count=5)
    # 6 s: both tasks start (2 s deadline margin, 2 s kept to settle)
    reported, records, left_ms = invoke_ok_and_unlucky(app, timeout_ms=6_000)
    assert app.ran == [1, 13]  # type: ignore[attr-defined]
    # The success's event could not be published: it goes back, with the failure.
    assert sorted(reported) == sorted(records)
    assert left_ms > 0  # answered before Lambda would have killed it


def test_taskworker_app_unset_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from taskworker.handlers import lambda_sqs

    monkeypatch.delenv("TASKWORKER_APP", raising=False)
    monkeypatch.setattr(lambda_sqs, "_default", {})
    with pytest.raises(AppLoadError, match=r"TASKWORKER_APP is not set.*'module:attribute'"):
        lambda_sqs.handler(sqs_event(), lambda_context())


def test_taskworker_app_wrong_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from taskworker.handlers import lambda_sqs

    monkeypatch.setattr(lambda_sqs, "_default", {})
    for wrong in ("examples.reports", "no_such_module_xyz:app", "taskworker:__version__"):
        monkeypatch.setenv("TASKWORKER_APP", wrong)
        with pytest.raises(AppLoadError, match=rf"^TASKWORKER_APP={wrong}: .*expected .*'module:attribute'"):
            lambda_sqs.handler(sqs_event(), lambda_context())


def test_task_log_lines_carry_identity_correlation_and_request_id(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.logs")
    app = TaskApp("logs", clients=Clients(sqs=FakeSQS()), logger=logger)

    @app.task("job.log")
    def log(job: Job, ctx: TaskContext) -> None:
        ctx.logger.info("working")
        raise ConnectionError("then it fails")

    record = sqs_record({"n": 1}, task_type="job.log", correlation_id="corr-1", receive_count=2)
    context = lambda_context()
    with caplog.at_level(logging.INFO, logger="test.logs"):
        app.lambda_handler(sqs_event([record]), context)
    lines = [r for r in caplog.records if r.getMessage() in ("working", "task will be retried")]
    assert len(lines) == 2
    for line in lines:
        identity = {k: getattr(line, k) for k in ("task_id", "task_type", "attempt", "correlation_id")}
        assert identity == {
            "task_id": record["messageId"],
            "task_type": "job.log",
            "attempt": 2,
            "correlation_id": "corr-1",
        }
        assert line.request_id == context.aws_request_id  # type: ignore[attr-defined]

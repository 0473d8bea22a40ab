"""The direct SQS transport: the same answers as the client, over HTTP, or the client itself.

Against moto's server: what a direct receive and delete return is compared with what the
client returns for the same call; errors and unreachable endpoints surface as the client's
own exceptions; a client with hooks, a stubber, a tracer or a fake is consumed as it is;
and the worker consumes with it without losing or repeating a task (the heartbeat,
SIGTERM and kill -9 tests in test_worker_moto.py run with both transports).
"""

from __future__ import annotations

import http.server
import logging
import socket
import threading
import time
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber
from pydantic import BaseModel

from taskworker.aws.direct import DirectSQS, direct_sqs
from taskworker.handlers.worker import Worker, WorkerConfigError, WorkerOptions
from taskworker.testing.fake_sqs import FakeSQS
from tests.moto_env import REGION, MotoQueues
from tests.worker.helpers import (
    Recorder,
    make_app,
    make_queues,
    queue_depth,
    running_worker,
    send,
    wait_until,
)

SYSTEM = ["ApproximateReceiveCount", "MessageGroupId"]
ATTRIBUTES = {
    "task_type": {"DataType": "String", "StringValue": "job"},
    "weight": {"DataType": "Number", "StringValue": "3.5"},
    "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xffraw"},
}


class Job(BaseModel):
    n: int


def direct(client: Any) -> DirectSQS:
    consumer, reason = direct_sqs(client)
    assert reason is None, reason
    assert isinstance(consumer, DirectSQS)
    return consumer


def received(client: Any, queue_url: str, count: int) -> list[dict[str, Any]]:
    response = client.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=count,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=SYSTEM,
        VisibilityTimeout=30,
    )
    messages: list[dict[str, Any]] = response.get("Messages", [])
    return messages


def without_identity(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        ({k: v for k, v in m.items() if k not in ("MessageId", "ReceiptHandle")} for m in messages),
        key=lambda m: str(m["Body"]),
    )


def test_a_direct_receive_answers_as_the_client_does(moto_queues: MotoQueues):
    sqs, url = moto_queues.sqs, moto_queues.queue_url
    for n in range(4):
        sqs.send_message(QueueUrl=url, MessageBody=f'{{"n": {n % 2}}}', MessageAttributes=ATTRIBUTES)
    by_client = received(sqs, url, 2)
    by_direct = received(direct(sqs), url, 2)
    assert len(by_client) == len(by_direct) == 2
    assert without_identity(by_direct) == without_identity(by_client)
    assert (
        by_direct[0]["MessageAttributes"]["blob"]["BinaryValue"] == b"\x00\xffraw"
    )  # bytes, as botocore gives


def sent_requests(client: Any) -> list[str]:
    """A log of the HTTP requests the client's session sends, by X-Amz-Target (a spy: each
    is still sent)."""
    session, sent = client._endpoint.http_session, []
    send = session.send

    def spy(request: Any) -> Any:
        target = request.headers["X-Amz-Target"]  # bytes from botocore, str from a direct call
        sent.append((target.decode() if isinstance(target, bytes) else target).rsplit(".", 1)[-1])
        return send(request)

    session.send = spy
    return sent


def test_a_direct_call_skips_botocores_pipeline_and_sends_one_request(moto_queues: MotoQueues):
    sqs, url = moto_queues.sqs, moto_queues.queue_url
    send(sqs, url, "job", [{"n": 1}])
    consumer = direct(sqs)
    calls: list[str] = []
    sqs.meta.events.register("before-call.sqs.*", lambda model, **_: calls.append(model.name))
    sent = sent_requests(sqs)
    messages = received(consumer, url, 10)
    consumer.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": "0", "ReceiptHandle": messages[0]["ReceiptHandle"]}]
    )
    assert sent == ["ReceiveMessage", "DeleteMessageBatch"]
    assert calls == []  # botocore's pipeline never ran: the calls went out directly


def test_a_direct_delete_reports_each_entry_as_the_client_does(moto_queues: MotoQueues):
    sqs, url = moto_queues.sqs, moto_queues.queue_url
    send(sqs, url, "job", [{"n": n} for n in range(3)])
    handles = [m["ReceiptHandle"] for m in received(sqs, url, 3)]
    entries = [{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(handles)]
    answer = direct(sqs).delete_message_batch(QueueUrl=url, Entries=entries)
    assert sorted(e["Id"] for e in answer["Successful"]) == ["0", "1", "2"]
    assert answer.get("Failed", []) == []
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert queue_depth(sqs, url) == (0, 0)


def test_a_refused_request_raises_the_clients_own_error(moto_queues: MotoQueues):
    missing = moto_queues.queue_url + "-missing"
    with pytest.raises(ClientError) as by_client:
        moto_queues.sqs.receive_message(QueueUrl=missing)
    with pytest.raises(ClientError) as by_direct:
        direct(moto_queues.sqs).receive_message(QueueUrl=missing)
    assert type(by_direct.value) is type(by_client.value)
    assert by_direct.value.response["Error"] == by_client.value.response["Error"]


def test_an_unreachable_endpoint_raises_as_the_client_does():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = boto3.client(
        "sqs",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name=REGION,
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=1),
    )
    with pytest.raises(EndpointConnectionError):
        direct(client).receive_message(QueueUrl=f"http://127.0.0.1:{port}/000000000000/q")


def test_an_answer_that_is_not_sqs_json_raises_as_the_client_does():
    class Portal(http.server.BaseHTTPRequestHandler):  # a captive proxy: 200 and a web page
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html>sign in first</html>")

        def log_message(self, *args: Any) -> None: ...

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Portal)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        client = boto3.client(
            "sqs", endpoint_url=endpoint, region_name=REGION, config=Config(retries={"total_max_attempts": 1})
        )
        queue_url = f"{endpoint}/000000000000/q"
        by_client = outcome(lambda: client.receive_message(QueueUrl=queue_url))
        by_direct = outcome(lambda: direct(client).receive_message(QueueUrl=queue_url))
    finally:
        server.shutdown()
    assert by_direct == by_client  # botocore reads such a page as an empty answer; so does a direct call


def outcome(call: Any) -> tuple[str, Any]:
    """What a call did: the exception type it raised, or its answer without metadata."""
    try:
        answer = call()
    except Exception as exc:
        return "raised", type(exc)
    return "answered", {k: v for k, v in answer.items() if k != "ResponseMetadata"}


def test_other_calls_are_the_clients_own(moto_queues: MotoQueues):
    consumer = direct(moto_queues.sqs)
    assert consumer.get_queue_url(QueueName=moto_queues.queue_url.rsplit("/", 1)[-1])["QueueUrl"]
    assert consumer.meta is moto_queues.sqs.meta


def test_a_fake_is_consumed_as_it_is():
    fake = FakeSQS()
    consumer, reason = direct_sqs(fake)
    assert consumer is fake
    assert reason == "FakeSQS is not a botocore client"


def test_a_client_with_its_own_hooks_is_consumed_as_it_is(moto_sqs: Any):
    def audit(**_: Any) -> None: ...

    moto_sqs.meta.events.register("before-call.sqs.ReceiveMessage", audit)
    consumer, reason = direct_sqs(moto_sqs)
    assert consumer is moto_sqs
    assert "audit" in (reason or "")


def test_powertools_user_agent_tag_does_not_stop_a_direct_transport(moto_sqs: Any):
    from aws_lambda_powertools.shared.user_agent import register_feature_to_client

    register_feature_to_client(moto_sqs, "batch")  # what importing a powertools utility does
    direct(moto_sqs)


def test_a_stubbed_client_is_consumed_as_it_is(moto_sqs: Any):
    with Stubber(moto_sqs):
        consumer, reason = direct_sqs(moto_sqs)
    assert consumer is moto_sqs
    assert "botocore.stub" in (reason or "")


def test_an_instrumented_botocore_is_left_alone(moto_sqs: Any, monkeypatch: pytest.MonkeyPatch):
    class TracingWrapper:  # what OpenTelemetry, X-Ray and Datadog put in its place
        def __init__(self, wrapped: Any) -> None:
            self.__wrapped__ = wrapped

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return self.__wrapped__(*args, **kwargs)

    monkeypatch.setattr(BaseClient, "_make_api_call", TracingWrapper(BaseClient._make_api_call))
    consumer, reason = direct_sqs(moto_sqs)
    assert consumer is moto_sqs
    assert "instrumented" in (reason or "")


def test_a_call_under_an_active_moto_mock_is_answered_by_the_mock():
    from moto import mock_aws

    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName="mocked")["QueueUrl"]  # an amazonaws.com URL, never reached
        sqs.send_message(QueueUrl=url, MessageBody="{}")
        sent = sent_requests(sqs)
        messages = direct(sqs).receive_message(QueueUrl=url)["Messages"]
    assert [m["Body"] for m in messages] == ["{}"]
    assert sent == []  # nothing left the process: the mock answered


def recording_app(name: str, sqs: Any, queue_url: str, dlq_url: str) -> tuple[Any, Recorder]:
    """An app whose one task, ``job``, records each ``n`` it runs."""
    app = make_app(name, sqs, queue_url, dlq_url)
    recorder = Recorder()

    @app.task("job")
    def job(item: Job) -> None:
        recorder.enter(item.n)
        recorder.leave()

    return app, recorder


def test_the_worker_consumes_directly_and_loses_nothing(moto_queues: MotoQueues):
    sqs = moto_queues.sqs
    app, recorder = recording_app("direct", sqs, moto_queues.queue_url, moto_queues.dlq_url)
    send(sqs, moto_queues.queue_url, "job", [{"n": n} for n in range(40)])
    with running_worker(app, concurrency=8, sqs_transport="direct") as worker:
        assert isinstance(worker.sqs, DirectSQS)
        wait_until(lambda: worker.settled == 40, timeout=30)
        wait_until(lambda: queue_depth(sqs, moto_queues.queue_url) == (0, 0))
    assert sorted(recorder.calls) == list(range(40))


def test_fifo_order_holds_when_consuming_directly(moto_endpoint: str, moto_sqs: Any):
    url, dlq = make_queues(moto_sqs, f"direct-fifo-{time.time_ns()}", fifo=True)
    app, recorder = recording_app("direct-fifo", moto_sqs, url, dlq)
    send(moto_sqs, url, "job", [{"n": n} for n in range(12)], group="g")
    with running_worker(app, concurrency=4, sqs_transport="direct") as worker:
        wait_until(lambda: worker.settled == 12, timeout=30)
    assert recorder.calls == list(range(12))


def test_a_worker_asked_for_direct_on_a_fake_says_why_and_consumes_all_the_same(
    caplog: pytest.LogCaptureFixture,
):
    fake = FakeSQS()
    url, dlq = make_queues(fake, "direct-fake")
    app, recorder = recording_app("direct-fake", fake, url, dlq)
    send(fake, url, "job", [{"n": 1}])
    with caplog.at_level(logging.WARNING), running_worker(app, sqs_transport="direct") as worker:
        wait_until(lambda: worker.settled == 1)
    assert worker.sqs is fake
    assert recorder.calls == [1]
    assert any("FakeSQS is not a botocore client" in str(r.__dict__) for r in caplog.records)


def test_an_unknown_transport_is_refused():
    fake = FakeSQS()
    app = make_app("transport", fake, make_queues(fake, "transport")[0])
    with pytest.raises(WorkerConfigError, match="sqs transport must be 'boto3' or 'direct'"):
        Worker.for_app(app, WorkerOptions(sqs_transport="http2"))  # type: ignore[arg-type]

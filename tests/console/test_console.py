"""The operator's console against moto over HTTP: what each page shows, and who may change what."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest
from starlette.testclient import TestClient

from taskworker.console import ConsoleConfig, create_app
from taskworker.console.safety import TOKEN_COOKIE, required_token
from tests.console.helpers import console, csrf, dead_letter, depth_cells, row, served_console, two_queues
from tests.integration.moto_stack import Stack, make_stack


@pytest.fixture
def stack(moto_endpoint: str) -> Stack:
    return make_stack(moto_endpoint)


def test_queues_page_shows_visible_in_flight_and_delayed_as_sent(stack: Stack) -> None:
    for n in range(3):
        stack.send("acct.close", {"account": str(n)})
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody="{}", DelaySeconds=300)
    stack.sqs.send_message(QueueUrl=stack.dlq_url, MessageBody="{}")
    stack.sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=1, VisibilityTimeout=300)

    page = console(stack).get("/queues")

    assert page.status_code == 200
    assert depth_cells(page.text, "queue") == (2, 1, 1)
    assert depth_cells(page.text, "dlq") == (1, 0, 0)


def test_dlq_page_lists_a_dead_lettered_task_by_id_with_its_reason(stack: Stack) -> None:
    task_id = dead_letter(stack, "acme")

    page = console(stack).get("/dlq")

    assert page.status_code == 200
    cells = row(page.text, task_id)
    assert "acct.close" in cells
    assert "PermanentError" in cells
    assert "account acme is closed" in cells
    assert "acme" not in page.text.replace("account acme is closed", "")  # no payload on the list


def test_read_only_console_refuses_every_change(stack: Stack) -> None:
    task_id = dead_letter(stack, "acme")
    client = console(stack)
    for path in ("/dlq/redrive", "/dlq/delete"):
        form = {"csrf": csrf(client), "confirm": "yes", "task_id": task_id}
        answer = client.post(path, data=form)
        assert answer.status_code == 403
        assert "--allow-changes" in answer.text
    assert "Redrive" not in client.get("/dlq").text
    assert stack.visible_count(stack.dlq_url) == 1
    assert stack.visible_count() == 0


def test_redrive_asks_for_confirmation_then_moves_each_message_once(stack: Stack) -> None:
    first, second = dead_letter(stack, "a"), dead_letter(stack, "b")
    client = console(stack, allow_changes=True)
    form = {"csrf": csrf(client), "all": "yes"}

    asked = client.post("/dlq/redrive", data=form)
    assert asked.status_code == 200
    assert 'name="confirm" value="yes"' in asked.text
    assert stack.visible_count(stack.dlq_url) == 2  # nothing moved before the confirmation

    done = client.post("/dlq/redrive", data={**form, "confirm": "yes"})
    assert done.status_code == 200
    assert "redrove 2 messages" in done.text
    again = client.post("/dlq/redrive", data={**form, "confirm": "yes"})
    assert "redrove 0 messages" in again.text

    assert stack.visible_count(stack.dlq_url) == 0
    moved = stack.receive()
    assert sorted(m["MessageAttributes"]["task_id"]["StringValue"] for m in moved) == sorted([first, second])


def test_redrive_and_delete_of_a_selection_touch_only_the_selected(stack: Stack) -> None:
    keep, redrive, delete = (dead_letter(stack, name) for name in ("keep", "redrive", "delete"))
    client = console(stack, allow_changes=True)

    for path, task_id in (("/dlq/redrive", redrive), ("/dlq/delete", delete)):
        form = {"csrf": csrf(client), "task_id": task_id}
        assert task_id in client.post(path, data=form).text  # the confirmation names it
        done = client.post(path, data={**form, "confirm": "yes"})
        assert done.status_code == 200, done.text

    assert "redrove" not in done.text
    assert "deleted 1 of 1" in done.text
    page = client.get("/dlq").text
    assert keep in page
    assert redrive not in page
    assert delete not in page
    (moved,) = stack.receive()
    assert moved["MessageAttributes"]["task_id"]["StringValue"] == redrive


def test_a_post_without_the_csrf_token_is_refused(stack: Stack) -> None:
    task_id = dead_letter(stack, "acme")
    client = console(stack, allow_changes=True)
    for form in ({"confirm": "yes", "all": "yes"}, {"csrf": "forged", "confirm": "yes", "task_id": task_id}):
        answer = client.post("/dlq/redrive", data=form)
        assert answer.status_code == 403
        assert "CSRF" in answer.text
    assert stack.visible_count(stack.dlq_url) == 1


def test_off_loopback_a_token_is_generated_and_required_on_every_request(stack: Stack) -> None:
    assert required_token("127.0.0.1", None) is None
    token = required_token("0.0.0.0", None)
    assert token
    client = console(stack, token=token)

    for path in ("/queues", "/dlq", "/tasks", "/tasks/x"):
        assert client.get(path).status_code == 401
    assert client.get("/queues?token=wrong").status_code == 401
    assert client.get("/queues", headers={"authorization": f"Bearer {token}"}).status_code == 200

    first = client.get(f"/queues?token={token}")
    assert first.status_code == 200
    assert TOKEN_COOKIE in first.headers["set-cookie"]
    assert "HttpOnly" in first.headers["set-cookie"]
    assert client.get("/dlq").status_code == 200  # the cookie carries it from now on
    client.cookies.clear()
    assert client.get("/dlq").status_code == 401


def test_without_a_token_only_loopback_host_names_are_answered(stack: Stack) -> None:
    client = console(stack)
    for host in ("127.0.0.1:8001", "localhost", "[::1]:8001"):
        assert client.get("/queues", headers={"host": host}).status_code == 200, host
    for host in ("attacker.example:8001", "10.0.0.5", ""):
        assert client.get("/queues", headers={"host": host}).status_code == 403, host


def test_tasks_page_filters_and_a_task_shows_its_payload_only_when_asked(stack: Stack) -> None:
    task_id = dead_letter(stack, "jane.doe@example.com")
    client = console(stack)

    listing = client.get("/tasks").text
    assert "failed" in row(listing, task_id)
    assert task_id in client.get("/tasks?status=failed&type=acct.close").text
    assert task_id not in client.get("/tasks?status=succeeded").text
    assert task_id not in client.get("/tasks?type=other.type").text

    page = client.get(f"/tasks/{task_id}").text
    assert "PermanentError" in page
    assert "jane.doe@example.com is closed" in page  # the error names it, as the task said
    assert '"account"' not in page
    revealed = client.get(f"/tasks/{task_id}?payload=1").text
    assert re.search(r'<pre id="payload">\{\s*&#34;account&#34;: &#34;jane.doe@example.com&#34;', revealed)


def test_a_task_with_no_payload_anywhere_says_so(stack: Stack) -> None:
    client = console(stack)
    assert client.get("/tasks/never-sent").status_code == 404
    revealed = client.get("/tasks/never-sent?payload=1")
    assert 'id="no-payload"' in revealed.text


def test_pages_carry_no_credentials_and_forbid_scripts(stack: Stack) -> None:
    dead_letter(stack, "acme")
    client = console(stack, allow_changes=True)
    for path in ("/queues", "/dlq", "/tasks"):
        answer = client.get(path)
        assert "testing" not in answer.text  # the dummy AWS key id and secret
        assert "default-src 'none'" in answer.headers["content-security-policy"]
        assert "<script" not in answer.text


@pytest.fixture
def served(stack: Stack) -> Iterator[tuple[Stack, str]]:
    settings = stack.settings()
    with served_console(
        settings, sqs=stack.sqs, dynamodb=stack.dynamodb, sample_interval=0.2, token="s3cret"
    ) as url:
        yield stack, url


def test_served_over_http_the_sampler_draws_the_chart(served: tuple[Stack, str]) -> None:
    stack, url = served
    stack.send("acct.close", {"account": "a"})
    assert httpx.get(f"{url}/queues").status_code == 401
    with httpx.Client(base_url=url, headers={"authorization": "Bearer s3cret"}, timeout=30) as client:
        for _ in range(300):  # the sampler thread takes a sample every 0.2 s
            page = client.get("/queues").text
            if "<polyline" in page:
                break
            time.sleep(0.1)
        assert page.count("<polyline") == 2
        assert depth_cells(page, "queue")[0] == 1


def test_an_aws_error_is_a_page_with_its_reason_not_a_traceback(stack: Stack) -> None:
    missing = stack.dlq_url + "-missing"
    settings = stack.settings(dlq_url=missing)
    app = create_app(ConsoleConfig(settings), sqs=stack.sqs, dynamodb=stack.dynamodb)
    client = TestClient(app, base_url="http://localhost:8001")
    answer = client.get("/dlq")
    assert answer.status_code == 502
    assert "NonExistentQueue" in answer.text or "does not exist" in answer.text
    assert "Traceback" not in answer.text


def test_queues_page_shows_every_queue_of_the_app_and_its_dlq(stack: Stack) -> None:
    """An app with queues per workload: each other queue and its own DLQ (from its redrive policy)."""
    lanes = two_queues(stack)
    for body in ("{}", "{}"):
        stack.sqs.send_message(QueueUrl=lanes.long.queue_url, MessageBody=body)
    stack.sqs.send_message(QueueUrl=lanes.long.dlq_url, MessageBody="{}")

    page = lanes.console().get("/queues").text

    assert depth_cells(page, "queue") == (0, 0, 0)
    assert depth_cells(page, "queue:long") == (2, 0, 0)
    assert depth_cells(page, "dlq:long") == (1, 0, 0)
    assert "DLQ of long" in page

"""The dead-letter page of an app with queues per workload: each queue's own DLQ, its
redrive back to that queue, its delete on that DLQ alone, and no guess for an unknown name."""

from __future__ import annotations

import pytest

from tests.console.helpers import TwoQueues, console, csrf, dead_letter, row, two_queues
from tests.integration.moto_stack import Stack, make_stack


@pytest.fixture
def lanes(moto_endpoint: str) -> TwoQueues:
    return two_queues(make_stack(moto_endpoint))


def task_ids(stack: Stack, url: str) -> list[str]:
    return sorted(m["MessageAttributes"]["task_id"]["StringValue"] for m in stack.receive(url))


def test_a_task_dead_lettered_on_the_second_queue_shows_under_that_queue(lanes: TwoQueues) -> None:
    on_default, on_long = dead_letter(lanes.stack, "acme"), lanes.dead_letter_long("globex")
    client = lanes.console()

    default = client.get("/dlq")
    assert default.status_code == 200
    assert 'data-queue="default" class="here"' in default.text  # the default queue first
    assert 'href="/dlq?queue=long"' in default.text
    assert on_default in default.text
    assert on_long not in default.text

    long = client.get("/dlq?queue=long")
    assert long.status_code == 200
    assert 'data-queue="long" class="here"' in long.text
    assert 'of queue <strong id="dlq-queue">long</strong>' in long.text
    cells = row(long.text, on_long)
    assert "acct.purge" in cells
    assert "PermanentError" in cells
    assert "account globex cannot be purged" in cells
    assert on_default not in long.text


def test_redrive_of_the_second_queues_dlq_goes_back_to_that_queue(lanes: TwoQueues) -> None:
    stack, long = lanes.stack, lanes.long
    stays, back = dead_letter(stack, "acme"), lanes.dead_letter_long("globex")
    client = lanes.console(allow_changes=True)
    form = {"csrf": csrf(client), "queue": "long", "all": "yes"}

    asked = client.post("/dlq/redrive", data=form)
    assert asked.status_code == 200
    assert "They go back to queue <strong>long</strong>" in asked.text
    assert '<input type="hidden" name="queue" value="long">' in asked.text
    done = client.post("/dlq/redrive", data={**form, "confirm": "yes"})
    assert done.status_code == 200, done.text
    assert "redrove 1 messages" in done.text
    assert 'href="/dlq?queue=long"' in done.text

    assert task_ids(stack, long.queue_url) == [back]
    assert stack.visible_count(stack.queue_url) == 0  # never to the default queue
    assert stack.visible_count(long.dlq_url) == 0
    assert task_ids(stack, stack.dlq_url) == [stays]


def test_delete_on_the_second_queue_removes_from_that_dlq_only(lanes: TwoQueues) -> None:
    stack, long = lanes.stack, lanes.long
    on_default, on_long = dead_letter(stack, "acme"), lanes.dead_letter_long("globex")
    client = lanes.console(allow_changes=True)
    form = {"csrf": csrf(client), "queue": "long", "task_id": [on_default, on_long], "confirm": "yes"}

    done = client.post("/dlq/delete", data=form)

    assert done.status_code == 200, done.text
    assert "deleted 1 of 2 selected messages" in done.text  # the default queue's one is not there
    assert stack.visible_count(long.dlq_url) == 0
    assert task_ids(stack, stack.dlq_url) == [on_default]
    assert stack.visible_count(long.queue_url) == 0


def test_an_unknown_queue_is_refused_and_nothing_moves(lanes: TwoQueues) -> None:
    stack, long = lanes.stack, lanes.long
    dead_letter(stack, "acme")
    lanes.dead_letter_long("globex")
    client = lanes.console(allow_changes=True)

    page = client.get("/dlq?queue=lung")
    assert page.status_code == 404
    assert "unknown queue &#39;lung&#39;: the console knows the DLQs of default, long" in page.text
    for path in ("/dlq/redrive", "/dlq/delete"):
        form = {"csrf": csrf(client), "queue": "lung", "all": "yes", "task_id": "x", "confirm": "yes"}
        answer = client.post(path, data=form)
        assert answer.status_code == 404, answer.text
        assert "unknown queue" in answer.text

    assert stack.visible_count(stack.dlq_url) == 1
    assert stack.visible_count(long.dlq_url) == 1
    assert stack.visible_count(stack.queue_url) == stack.visible_count(long.queue_url) == 0


def test_a_queue_without_a_dlq_is_named_as_such(lanes: TwoQueues) -> None:
    stack = lanes.stack
    bare = stack.sqs.create_queue(QueueName=stack.queue_url.rsplit("/", 1)[-1] + "-bare")["QueueUrl"]
    settings = lanes.settings()
    client = lanes.console(settings=settings.merged(queue_urls={**(settings.queue_urls or {}), "bare": bare}))

    answer = client.get("/dlq?queue=bare")

    assert answer.status_code == 404
    assert "queue &#39;bare&#39; has no DLQ the console could find" in answer.text
    assert "?queue=bare" not in client.get("/dlq").text


def test_a_task_of_the_second_queue_reveals_its_payload_from_that_dlq(lanes: TwoQueues) -> None:
    task_id = lanes.dead_letter_long("jane.doe@example.com")

    revealed = lanes.console().get(f"/tasks/{task_id}?payload=1")

    assert revealed.status_code == 200
    assert '<pre id="payload">' in revealed.text
    assert "jane.doe@example.com" in revealed.text


def test_without_declared_queues_the_page_names_no_queue(moto_endpoint: str) -> None:
    stack = make_stack(moto_endpoint)
    task_id = dead_letter(stack, "acme")

    page = console(stack).get("/dlq").text

    assert task_id in page
    assert "About 1 messages in the DLQ;" in page
    assert 'id="dlq-queues"' not in page
    assert "of queue" not in page

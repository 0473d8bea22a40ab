"""The console in a real headless Chromium (Selenium, Debian's chromium and chromedriver):
what an operator sees and clicks. Skipped only where no browser can be driven, and never
in CI (``CI`` set), where ``.ci/run`` installs one: there a missing browser fails."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.console.browser import browser, text_of, unavailable, wait_until
from tests.console.helpers import dead_letter, served_console, two_queues
from tests.integration.moto_stack import Stack, make_stack


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    reason = unavailable()
    if reason and os.environ.get("CI"):
        pytest.fail(f"CI must run the browser test, but {reason}: see .ci/run")
    if reason:
        pytest.skip(reason)
    with browser() as chromium:
        yield chromium


@pytest.fixture
def stack(moto_endpoint: str) -> Stack:
    return make_stack(moto_endpoint)


def serve(stack: Stack, **config: Any) -> Any:
    return served_console(stack.settings(), sqs=stack.sqs, dynamodb=stack.dynamodb, **config)


def test_the_queues_page_shows_the_depths_the_test_enqueued(driver: Any, stack: Stack) -> None:
    for n in range(3):
        stack.send("acct.close", {"account": str(n)})
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody="{}", DelaySeconds=300)
    stack.sqs.send_message(QueueUrl=stack.dlq_url, MessageBody="{}")
    with serve(stack, sample_interval=1.0) as url:
        driver.get(f"{url}/queues")
        # The page shows the sampler's latest sample and reloads itself: wait for this one.
        wait_until(driver, lambda d: text_of('tr[data-queue="queue"] .visible')(d) == "3", "3 visible")
        assert text_of('tr[data-queue="queue"] .delayed')(driver) == "1"
        assert text_of('tr[data-queue="dlq"] .visible')(driver) == "1"
        assert driver.title.startswith("Queues")


def test_a_failed_task_shows_its_reason_and_redrive_from_the_page_moves_it_once(
    driver: Any, stack: Stack, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    task_id = dead_letter(stack, "acme")
    with serve(stack, allow_changes=True) as url:
        driver.get(f"{url}/dlq")
        reason = wait_until(driver, text_of(f'tr[data-task-id="{task_id}"] .reason'), "the failed task")
        assert reason == "PermanentError: account acme is closed"
        assert driver.save_screenshot(str(tmp_path / "dlq.png"))

        driver.find_element(By.XPATH, "//button[starts-with(., 'Redrive all')]").click()
        wait_until(driver, text_of("#confirm"), "the confirmation page")
        assert stack.visible_count(stack.dlq_url) == 1  # asked, not yet moved
        driver.find_element(By.ID, "confirm").click()
        outcome = wait_until(driver, text_of("#outcome"), "the outcome")
        assert outcome.startswith("redrove 1 message"), outcome

        driver.get(f"{url}/dlq")
        wait_until(driver, lambda d: "About 0 messages" in text_of("main")(d), "an empty DLQ")
        assert not driver.find_elements(By.CSS_SELECTOR, "tr[data-task-id]")
    assert (tmp_path / "dlq.png").read_bytes().startswith(b"\x89PNG")
    assert stack.visible_count(stack.dlq_url) == 0
    moved = stack.receive()
    assert [m["MessageAttributes"]["task_id"]["StringValue"] for m in moved] == [task_id]  # once


def test_a_read_only_console_offers_no_change(driver: Any, stack: Stack) -> None:
    from selenium.webdriver.common.by import By

    task_id = dead_letter(stack, "acme")
    with serve(stack) as url:
        driver.get(f"{url}/dlq")
        wait_until(driver, text_of(f'tr[data-task-id="{task_id}"] .reason'), "the failed task")
        assert not driver.find_elements(By.TAG_NAME, "button")
        assert "start the console with --allow-changes" in text_of("main")(driver)


def test_the_second_queues_dlq_is_chosen_on_the_page_and_redriven_to_that_queue(
    driver: Any, stack: Stack
) -> None:
    from selenium.webdriver.common.by import By

    lanes = two_queues(stack)
    task_id = lanes.dead_letter_long("globex")
    with served_console(lanes.settings(), sqs=stack.sqs, dynamodb=stack.dynamodb, allow_changes=True) as url:
        driver.get(f"{url}/dlq")
        wait_until(driver, text_of("#dlq-queue"), "the default queue's DLQ")
        assert not driver.find_elements(By.CSS_SELECTOR, "tr[data-task-id]")

        driver.find_element(By.CSS_SELECTOR, '#dlq-queues a[data-queue="long"]').click()
        reason = wait_until(driver, text_of(f'tr[data-task-id="{task_id}"] .reason'), "long's failed task")
        assert reason == "PermanentError: account globex cannot be purged"
        assert text_of("#dlq-queue")(driver) == "long"

        driver.find_element(By.XPATH, "//button[starts-with(., 'Redrive all')]").click()
        wait_until(driver, text_of("#confirm"), "the confirmation page")
        driver.find_element(By.ID, "confirm").click()
        outcome = wait_until(driver, text_of("#outcome"), "the outcome")
        assert outcome.startswith("redrove 1 message"), outcome
    assert stack.visible_count(lanes.long.dlq_url) == 0
    assert [
        m["MessageAttributes"]["task_id"]["StringValue"] for m in stack.receive(lanes.long.queue_url)
    ] == [task_id]
    assert stack.visible_count(stack.queue_url) == 0

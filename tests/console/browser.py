"""The console in a real headless Chromium: Debian's ``chromium`` driven through Selenium and
Debian's ``chromedriver`` (no browser download: both come from ``apt-get``; ``.ci/run``
installs them).

``python -m tests.console.browser DIR`` runs the example app's tour on the dev stack and
writes ``queues.png``, ``dlq.png`` and ``tasks.png`` into DIR (the README's screenshots).
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from taskworker.app import TaskApp
from taskworker.dev import DevStack, DevStackConfig
from taskworker.dev.demo import post, wait_for
from taskworker.dev.resources import DevResources
from tests.console.helpers import served_console

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
PATIENCE = 60.0
"""Seconds a wait for the page may take: generous, since the machine is shared."""


def unavailable() -> str | None:
    """Why no browser can be driven here, or ``None`` when one can."""
    if importlib.util.find_spec("selenium") is None:
        return "selenium is not installed (the test extra has it)"
    if CHROMIUM is None:
        return "chromium is not installed (apt-get install chromium)"
    if CHROMEDRIVER is None:
        return "chromedriver is not installed (apt-get install chromium-driver)"
    return None


@contextmanager
def browser(width: int = 1100, height: int = 560) -> Iterator[Any]:
    """A headless Chromium with a throwaway profile, quit on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    assert CHROMIUM, unavailable()
    assert CHROMEDRIVER, unavailable()
    with tempfile.TemporaryDirectory() as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"):
            options.add_argument(argument)
        options.add_argument(f"--user-data-dir={profile}")
        options.add_argument(f"--window-size={width},{height}")
        driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
        driver.set_page_load_timeout(PATIENCE)
        try:
            yield driver
        finally:
            driver.quit()


def wait_until(driver: Any, condition: Callable[[Any], Any], what: str) -> Any:
    """``condition(driver)`` once it is truthy (elements not there yet, or replaced by the
    page's own refresh, count as not yet), within :data:`PATIENCE`."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.wait import WebDriverWait

    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, PATIENCE, ignored_exceptions=ignored).until(condition, what)


def text_of(css: str) -> Callable[[Any], str]:
    """A condition: the text of the element ``css`` selects."""
    from selenium.webdriver.common.by import By

    return lambda driver: str(driver.find_element(By.CSS_SELECTOR, css).text)


@contextmanager
def toured_stack(
    app: TaskApp, prefix: str, submissions: Sequence[tuple[str, Any]]
) -> Iterator[tuple[DevStack, list[str]]]:
    """The dev stack for ``app`` after ``submissions`` (task type, payload) were posted and ended."""
    config = DevStackConfig(port=0, resources=DevResources(prefix=prefix))
    with DevStack(app, config, printer=lambda line: None) as stack:
        assert stack.api is not None
        ids = [post(stack.api.url, task_type, payload)[1]["task_id"] for task_type, payload in submissions]
        wait_for(stack.api.url, ids, timeout=60)
        yield stack, ids


def main(directory: str) -> None:
    import examples.reports
    from taskworker.dev.demo import SUBMISSIONS

    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    tour = [(task_type, payload) for task_type, payload, _ in SUBMISSIONS]
    # A console sampling every second, watching a burst of reports drain, for the chart.
    with (
        toured_stack(examples.reports.app, "console-shots", tour) as (stack, _),
        served_console(stack.app.settings, allow_changes=True, sample_interval=1.0) as url,
    ):
        assert stack.api is not None
        for month in range(1, 13):
            post(stack.api.url, "report.generate", {"account_id": "acme", "month": f"2026-{month:02}"})
        time.sleep(12)  # a picture of the last minutes needs minutes' worth of samples
        with browser() as driver:
            for view in ("queues", "dlq", "tasks"):
                driver.get(f"{url}/{view}")
                driver.save_screenshot(str(target / f"{view}.png"))


if __name__ == "__main__":
    main(sys.argv[1])

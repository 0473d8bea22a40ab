"""`taskworker dev` serves the console next to the API and names it in its banner."""

from __future__ import annotations

import re

import httpx

from taskworker.dev import DevStack, DevStackConfig
from taskworker.dev.resources import DevResources
from tests.dev import dev_app


def test_the_dev_banner_names_the_console_and_it_answers() -> None:
    config = DevStackConfig(port=0, resources=DevResources(prefix="t-console"))
    with DevStack(dev_app.app, config, printer=lambda line: None) as stack:
        line = next(line for line in stack.banner().splitlines() if line.strip().startswith("console"))
        url = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert url, line
        page = httpx.get(f"{url.group(0)}/queues", timeout=30)
        assert page.status_code == 200
        assert "t-console" in page.text  # the dev stack's own queue

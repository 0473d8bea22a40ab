"""The API's shared request -> answer rules (``taskworker.edge``), as the local API calls them."""

from __future__ import annotations

import pytest

from taskworker import edge


@pytest.mark.parametrize("name", ["Idempotency-Key", "idempotency-key", "IDEMPOTENCY-KEY", "Idempotency-key"])
def test_header_lookup_ignores_case(name: str) -> None:
    assert edge.header({"Content-Type": "application/json", name: "k-1"}, edge.IDEMPOTENCY_HEADER) == "k-1"


def test_an_empty_or_absent_header_is_none() -> None:
    assert edge.header({"Idempotency-Key": ""}, edge.IDEMPOTENCY_HEADER) is None
    assert edge.header({}, edge.CORRELATION_HEADER) is None


@pytest.mark.parametrize(
    ("content_type", "accepted"),
    [
        (None, True),
        ("", True),
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("application/json;charset=UTF-8", True),
        ("text/plain", False),
        ("application/json; charset=utf-16", False),
    ],
)
def test_accepts_the_json_spellings_the_deployed_api_maps(content_type: str | None, accepted: bool) -> None:
    assert edge.accepts_json(content_type) is accepted


@pytest.mark.parametrize(
    ("code", "http_status", "status"),
    [
        ("AWS.SimpleQueueService.NonExistentQueue", 400, 500),
        ("RequestThrottled", 400, 503),
        ("InvalidMessageContents", 400, 400),
        ("NeverHeardOf", 403, 500),
        (None, 500, 503),
    ],
)
def test_enqueue_errors_are_answered_by_code(code: str | None, http_status: int, status: int) -> None:
    rule = edge.ENQUEUE_ERRORS.answer(code, http_status)
    assert rule.status == status
    assert rule.retry_after == (edge.RETRY_AFTER_SECONDS if status == 503 else None)
    assert ("operator" in rule.message) is (status == 500)


def test_status_errors_are_answered_by_code() -> None:
    assert edge.STATUS_ERRORS.answer("ValidationException", 400).status == 400
    assert edge.STATUS_ERRORS.answer("ProvisionedThroughputExceededException", 400).status == 503
    assert edge.STATUS_ERRORS.answer("ResourceNotFoundException", 400).status == 500

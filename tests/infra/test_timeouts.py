"""Consumer timeout and visibility timeout are derived from the task registry."""

from __future__ import annotations

import pytest

pytest.importorskip("aws_cdk")

from taskworker_infra.timeouts import (
    LAMBDA_MAX_TIMEOUT,
    lambda_timeout,
    required_consumer_timeout,
    visibility_timeout,
)


def test_required_timeout_is_slowest_task_plus_margin() -> None:
    assert required_consumer_timeout([10, 120, None], default_task_timeout=60, margin=30) == 150


def test_tasks_without_timeout_count_as_the_default() -> None:
    assert required_consumer_timeout([None, 5], default_task_timeout=300, margin=30) == 330


def test_fractional_timeouts_round_up() -> None:
    assert required_consumer_timeout([10.2], default_task_timeout=60, margin=0) == 11


def test_lambda_timeout_leaves_room_for_the_batch_within_the_cap() -> None:
    assert lambda_timeout(150, batch_size=1) == 150
    assert lambda_timeout(150, batch_size=4) == 600
    assert lambda_timeout(150, batch_size=10) == LAMBDA_MAX_TIMEOUT


def test_explicit_lambda_timeout_below_requirement_is_refused() -> None:
    with pytest.raises(ValueError, match="slowest task"):
        lambda_timeout(150, batch_size=1, requested=100)
    assert lambda_timeout(150, batch_size=1, requested=200) == 200


def test_task_longer_than_lambda_allows_points_to_the_worker() -> None:
    with pytest.raises(ValueError, match="worker=True"):
        lambda_timeout(3630, batch_size=1)


def test_visibility_is_six_times_consumer_timeout() -> None:
    assert visibility_timeout(150) == 900


def test_visibility_above_sqs_maximum_is_refused() -> None:
    with pytest.raises(ValueError, match="maximum"):
        visibility_timeout(7300)

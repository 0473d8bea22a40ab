"""The depth sampler's cost and the chart it feeds, on a clock the test moves."""

from __future__ import annotations

import re
from typing import Any

from taskworker.console.chart import depth_chart
from taskworker.console.queues import QueueSampler
from tests.moto_env import MotoQueues


class CountingSQS:
    """The real client, counting GetQueueAttributes calls (the sampler's only call)."""

    def __init__(self, sqs: Any) -> None:
        self.sqs = sqs
        self.calls = 0

    def get_queue_attributes(self, **kwargs: Any) -> Any:
        self.calls += 1
        return self.sqs.get_queue_attributes(**kwargs)


def test_pages_within_one_interval_share_one_sample(moto_queues: MotoQueues) -> None:
    now = [0.0]
    sqs = CountingSQS(moto_queues.sqs)
    sampler = QueueSampler(
        sqs, {"queue": moto_queues.queue_url, "dlq": moto_queues.dlq_url}, interval=10, clock=lambda: now[0]
    )
    for _ in range(5):
        sampler.current()
    assert sqs.calls == 2  # one call per queue
    now[0] = 10.0
    sampler.current()
    assert sqs.calls == 4
    assert len(sampler.samples()) == 2


def test_history_keeps_only_the_window_and_the_chart_draws_each_queue(moto_queues: MotoQueues) -> None:
    now = [0.0]
    sampler = QueueSampler(
        moto_queues.sqs,
        {"queue": moto_queues.queue_url, "dlq": moto_queues.dlq_url},
        interval=10,
        window=60,
        clock=lambda: now[0],
    )
    assert "after two samples" in depth_chart(sampler.samples())
    for step in range(20):
        now[0] = step * 10.0
        sampler.sample()
    samples = sampler.samples()
    assert len(samples) == 7
    assert samples[0].at == 130.0
    chart = depth_chart(samples)
    assert chart.count("<polyline") == 2
    assert [len(points.split()) for points in re.findall(r'points="([^"]*)"', chart)] == [7, 7]

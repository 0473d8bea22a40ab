"""From the app's declarations to what each queue deploys, before any construct is built."""

from __future__ import annotations

import pytest

pytest.importorskip("aws_cdk")

from aws_cdk import Duration
from pydantic import BaseModel
from taskworker_infra import ConsumerOptions, WorkerOptions
from taskworker_infra.plans import QueuePlan, construct_suffix, plan_queues
from taskworker_infra.registry import spec_of_app

from taskworker import TaskApp, TaskDefinitionError


class Job(BaseModel):
    n: int = 0


def _job_app() -> TaskApp:
    app = TaskApp("plans")

    @app.task("quick", timeout=10)
    def quick(job: Job) -> None: ...

    @app.task("slow", timeout=600)
    def slow(job: Job) -> None: ...

    @app.task("huge", timeout=5000, queue="long")
    def huge(job: Job) -> None: ...

    return app


def _plans(
    app: TaskApp, consumer: ConsumerOptions | None = None, worker: WorkerOptions | None = None
) -> dict[str, QueuePlan]:
    plans = plan_queues(spec_of_app(app), consumer=consumer or ConsumerOptions(), worker=worker)
    return {plan.name: plan for plan in plans}


def test_each_queue_times_out_after_its_own_slowest_task() -> None:
    app = _job_app()
    app.queue("long", consumer="worker")
    plans = _plans(app)
    assert (plans["default"].consumer, plans["default"].consumer_timeout) == ("lambda", 630)
    assert (plans["long"].consumer, plans["long"].consumer_timeout) == ("worker", 5030)
    assert plans["long"].visibility_timeout == 6 * 5030
    assert [t.name for t in plans["default"].tasks] == ["quick", "slow"]


def test_undeclared_options_are_the_deployments() -> None:
    app = _job_app()
    app.queue("long", consumer="worker", max_workers=9, concurrency=2)
    app.queue("default", max_concurrency=20)
    consumer = ConsumerOptions(batch_size=3, max_concurrency=7, memory_size=512)
    plans = _plans(app, consumer=consumer, worker=WorkerOptions(max_tasks=2, cpu=2048))
    default = plans["default"].lambda_options
    assert default is not None
    assert (default.batch_size, default.max_concurrency, default.memory_size) == (3, 20, 512)
    long = plans["long"].worker_options
    assert long is not None
    assert (long.max_tasks, long.cpu) == (9, 2048)
    assert plans["long"].worker_arguments(name_queue=True) == ["--queue", "long", "--concurrency", "2"]
    assert plans["default"].max_receive_count == 5


def test_worker_true_still_makes_the_undeclared_default_queue_a_worker_queue() -> None:
    app = TaskApp("plans")

    @app.task("huge", timeout=5000)
    def huge(job: Job) -> None: ...

    (plan,) = _plans(app, worker=WorkerOptions()).values()
    assert (plan.name, plan.suffix, plan.consumer, plan.consumer_timeout) == ("default", "", "worker", 5030)
    assert plan.worker_arguments(name_queue=False) == []


def test_a_declared_default_queue_is_consumed_as_declared_whatever_worker_says() -> None:
    app = TaskApp("plans")

    @app.task("quick", timeout=10)
    def quick(job: Job) -> None: ...

    app.queue("default", consumer="lambda")
    (plan,) = _plans(app, worker=WorkerOptions()).values()
    assert plan.consumer == "lambda"
    assert plan.worker_options is None


def test_the_margin_pushing_a_lambda_task_past_900_s_is_refused_naming_the_task() -> None:
    app = TaskApp("plans")

    @app.task("edge", timeout=880, queue="reports")
    def edge(job: Job) -> None: ...

    app.queue("reports")
    with pytest.raises(ValueError, match=r"task 'edge' on the queue 'reports'.*880 s.*910 s") as info:
        _plans(app)
    message = str(info.value)
    assert "consumer='worker'" in message
    assert "at most 870 s" in message
    assert "timeout_margin" in message
    assert "worker=True" not in message  # only the undeclared default queue follows worker=True
    # a smaller margin lets it run on Lambda
    assert _plans(app, consumer=ConsumerOptions(timeout_margin=Duration.seconds(20)))["reports"]


def test_the_undeclared_default_queue_points_to_worker_true() -> None:
    app = TaskApp("plans")

    @app.task("long", timeout=3600)
    def long(job: Job) -> None: ...

    with pytest.raises(ValueError, match=r"task 'long' on the default queue.*worker=True"):
        _plans(app)


def test_the_core_already_refuses_a_task_above_900_s_on_a_lambda_queue() -> None:
    app = TaskApp("plans")
    app.queue("reports")
    with pytest.raises(TaskDefinitionError, match="more than Lambda"):

        @app.task("long", timeout=3600, queue="reports")
        def long(job: Job) -> None: ...


def test_a_fifo_lambda_queue_takes_no_batching_window() -> None:
    app = TaskApp("plans")

    @app.task("post", timeout=5, queue="ledger.fifo")
    def post(job: Job) -> None: ...

    app.queue("ledger.fifo")
    plans = _plans(app, consumer=ConsumerOptions(max_batching_window=Duration.seconds(5)))
    assert plans["ledger.fifo"].fifo
    assert plans["ledger.fifo"].lambda_options.max_batching_window is None  # type: ignore[union-attr]
    assert plans["default"].lambda_options.max_batching_window is not None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("name", "suffix"), [("default", ""), ("long", "Long"), ("ledger.fifo", "LedgerFifo"), ("a-b-c", "ABC")]
)
def test_construct_suffix(name: str, suffix: str) -> None:
    assert construct_suffix(name) == suffix


def test_queues_whose_ids_would_clash_are_refused() -> None:
    app = _job_app()
    app.queue("long", consumer="worker")
    app.queue("orders-fifo")
    app.queue("orders.fifo")
    with pytest.raises(ValueError, match=r"'orders-fifo' and 'orders\.fifo' would share"):
        _plans(app)


def test_a_task_on_an_undeclared_queue_stops_the_synth() -> None:
    app = TaskApp("plans")

    @app.task("lost", queue="nowhere")
    def lost(job: Job) -> None: ...

    with pytest.raises(TaskDefinitionError, match="not declared"):
        spec_of_app(app)

"""Queues per workload, deployed: one queue, DLQ, consumer, alarms and timeouts per queue.

``tests/infra/queues_app.py`` declares a Lambda default queue (batches of 10, at most 50
invocations), two worker queues (``long``: 4 tasks per container, 6 containers, 3
receives; ``bulk``: the defaults) and a FIFO Lambda queue (``ledger.fifo``). One
synthesis, checked by cdk-nag, serves the whole module.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

pytest.importorskip("aws_cdk")

from tests.infra.conftest import ROOT, Synthesis
from tests.infra.helpers import arn, resources

QUEUES_APP = "tests.infra.queues_app:app"
QUEUE = "AWS::SQS::Queue"
# queue name -> the construct-id fragment of its resources
SUFFIX = {"default": "", "long": "Long", "bulk": "Bulk", "ledger.fifo": "LedgerFifo"}
RECEIVE = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"}


@pytest.fixture(scope="module")
def queues(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    import aws_cdk as cdk
    from taskworker_infra import AsyncTaskService
    from taskworker_infra.context import cdk_context
    from taskworker_infra.nag import add_aws_solutions_checks

    outdir = tmp_path_factory.mktemp("cdk.out")
    app = cdk.App(context={**cdk_context(), "aws:cdk:bundling-stacks": []}, outdir=str(outdir))
    add_aws_solutions_checks(app)
    service = AsyncTaskService(cdk.Stack(app, "Queues"), "Tasks", app=QUEUES_APP, project_root=ROOT)
    error: Exception | None = None
    try:
        app.synth()
    except Exception as exc:  # cdk-nag findings; the template is written before validation
        error = exc
    template = json.loads((outdir / "Queues.template.json").read_text())
    return Synthesis(templates={"Queues": template}, services={"Queues": service}, error=error, outdir=outdir)


def _tpl(queues: Synthesis) -> dict[str, Any]:
    return queues.templates["Queues"]


def _queue_id(tpl: dict[str, Any], name: str) -> str:
    (lid,) = [lid for lid in resources(tpl, QUEUE) if lid.startswith(f"TasksQueues{SUFFIX[name]}Queue")]
    return lid


def _dlq_id(tpl: dict[str, Any], name: str) -> str:
    prefix = f"TasksQueues{SUFFIX[name]}DeadLetterQueue"
    (lid,) = [lid for lid in resources(tpl, QUEUE) if lid.startswith(prefix)]
    return lid


def _one(tpl: dict[str, Any], kind: str, prefix: str) -> tuple[str, dict[str, Any]]:
    (found,) = [(lid, p) for lid, p in resources(tpl, kind).items() if lid.startswith(prefix)]
    return found


def _function(tpl: dict[str, Any], name: str) -> dict[str, Any]:
    return _one(tpl, "AWS::Lambda::Function", f"TasksConsumer{SUFFIX[name]}Function")[1]


def _container(tpl: dict[str, Any], name: str) -> dict[str, Any]:
    (container,) = _one(tpl, "AWS::ECS::TaskDefinition", f"TasksWorker{SUFFIX[name]}Task")[1][
        "ContainerDefinitions"
    ]
    return container


def _event_source(tpl: dict[str, Any], name: str) -> dict[str, Any]:
    (esm,) = [e for e in resources(tpl, "AWS::Lambda::EventSourceMapping").values()
              if e["EventSourceArn"] == arn(_queue_id(tpl, name))]  # fmt: skip
    return esm


def test_the_stack_passes_aws_solutions_checks(queues: Synthesis) -> None:
    report = queues.outdir / "validation-report.json"
    assert queues.error is None, report.read_text()[:5000] if report.exists() else ""
    (plugin,) = json.loads(report.read_text())["pluginReports"]
    assert plugin["conclusion"] == "success"


def test_one_queue_and_one_dlq_per_queue_of_the_app(queues: Synthesis) -> None:
    tpl = _tpl(queues)
    assert len(resources(tpl, QUEUE)) == 2 * len(SUFFIX)
    for name in SUFFIX:
        queue = resources(tpl, QUEUE)[_queue_id(tpl, name)]
        assert queue["RedrivePolicy"]["deadLetterTargetArn"] == arn(_dlq_id(tpl, name)), name
        assert queue["SqsManagedSseEnabled"] is True


@pytest.mark.parametrize(
    ("name", "max_receive_count"), [("default", 5), ("long", 3), ("bulk", 5), ("ledger.fifo", 8)]
)
def test_max_receive_count_is_the_declared_one_else_five(
    queues: Synthesis, name: str, max_receive_count: int
) -> None:
    tpl = _tpl(queues)
    queue = resources(tpl, QUEUE)[_queue_id(tpl, name)]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == max_receive_count
    env = _environment(tpl, name)
    assert env["TASKWORKER_MAX_RECEIVE_COUNT"] == str(max_receive_count)


@pytest.mark.parametrize(
    ("name", "timeout"),
    [
        ("default", 500),  # slowest task 20 s + 30 s margin, room for a batch of 10
        ("ledger.fifo", 300),  # 30 s + 30 s, batch of 5
    ],
)
def test_lambda_timeout_follows_the_slowest_task_of_its_own_queue(
    queues: Synthesis, name: str, timeout: int
) -> None:
    tpl = _tpl(queues)
    assert _function(tpl, name)["Timeout"] == timeout
    assert resources(tpl, QUEUE)[_queue_id(tpl, name)]["VisibilityTimeout"] == 6 * timeout


@pytest.mark.parametrize(("name", "slowest"), [("long", 3600), ("bulk", 1200)])
def test_worker_queue_visibility_follows_its_own_slowest_task(
    queues: Synthesis, name: str, slowest: int
) -> None:
    tpl = _tpl(queues)
    assert resources(tpl, QUEUE)[_queue_id(tpl, name)]["VisibilityTimeout"] == 6 * (slowest + 30)


def test_event_sources_take_each_queues_batch_size_and_maximum_concurrency(queues: Synthesis) -> None:
    tpl = _tpl(queues)
    assert len(resources(tpl, "AWS::Lambda::EventSourceMapping")) == 2  # worker queues have none
    default = _event_source(tpl, "default")
    assert (default["BatchSize"], default["ScalingConfig"]) == (10, {"MaximumConcurrency": 50})
    ledger = _event_source(tpl, "ledger.fifo")
    # undeclared options are the deployment's (ConsumerOptions: cap 10)
    assert (ledger["BatchSize"], ledger["ScalingConfig"]) == (5, {"MaximumConcurrency": 10})
    assert default["FunctionResponseTypes"] == ledger["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_lambda_consumers_share_one_asset(queues: Synthesis) -> None:
    tpl = _tpl(queues)
    codes = {json.dumps(_function(tpl, name)["Code"], sort_keys=True) for name in ("default", "ledger.fifo")}
    assert len(codes) == 1


@pytest.mark.parametrize(
    ("name", "command", "max_tasks"),
    [
        ("long", ["worker", QUEUES_APP, "--queue", "long", "--concurrency", "4"], 6),
        ("bulk", ["worker", QUEUES_APP, "--queue", "bulk"], 4),  # WorkerOptions' max_tasks
    ],
)
def test_each_worker_queue_runs_its_own_worker_and_scaling(
    queues: Synthesis, name: str, command: list[str], max_tasks: int
) -> None:
    tpl = _tpl(queues)
    assert _container(tpl, name)["Command"] == command
    _, target = _one(tpl, "AWS::ApplicationAutoScaling::ScalableTarget", f"TasksWorker{SUFFIX[name]}Service")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (0, max_tasks)
    backlog = [a for a in resources(tpl, "AWS::CloudWatch::Alarm").values()
               if "Metrics" in a and json.dumps(a).count(_queue_id(tpl, name))]  # fmt: skip
    assert backlog, f"the {name} worker scales on its own queue's backlog"


def test_workers_share_one_cluster_one_network_and_one_image(queues: Synthesis) -> None:
    tpl = _tpl(queues)
    (cluster,) = resources(tpl, "AWS::ECS::Cluster")
    assert len(resources(tpl, "AWS::EC2::VPC")) == 1
    services = resources(tpl, "AWS::ECS::Service").values()
    assert [s["Cluster"] for s in services] == [{"Ref": cluster}] * 2
    assert _container(tpl, "long")["Image"] == _container(tpl, "bulk")["Image"]
    assets = json.loads((queues.outdir / "Queues.assets.json").read_text())
    assert len(assets["dockerImages"]) == 1


def _environment(tpl: dict[str, Any], name: str) -> dict[str, Any]:
    if name in ("long", "bulk"):
        return {e["Name"]: e["Value"] for e in _container(tpl, name)["Environment"]}
    return _function(tpl, name)["Environment"]["Variables"]


@pytest.mark.parametrize("name", list(SUFFIX))
def test_each_consumer_is_told_its_queue_its_dlq_and_every_queue(queues: Synthesis, name: str) -> None:
    tpl = _tpl(queues)
    env = _environment(tpl, name)
    assert env["TASKWORKER_QUEUE"] == name
    assert env["TASKWORKER_QUEUE_URL"] == {"Ref": _queue_id(tpl, name)}
    assert env["TASKWORKER_DLQ_URL"] == {"Ref": _dlq_id(tpl, name)}
    urls = json.loads(_render_join(env["TASKWORKER_QUEUE_URLS"]))
    assert urls == {other: _queue_id(tpl, other) for other in SUFFIX}


def _render_join(value: dict[str, Any]) -> str:
    """``Fn::Join`` with each ``Ref`` replaced by the logical id it names."""
    separator, parts = value["Fn::Join"]
    return separator.join(part["Ref"] if isinstance(part, dict) else part for part in parts)


def _sqs_grants(tpl: dict[str, Any], role_prefix: str) -> set[tuple[str, str]]:
    """(action, queue logical id) for every SQS action the role's policies allow."""
    (role_id,) = [lid for lid in resources(tpl, "AWS::IAM::Role") if lid.startswith(role_prefix)]
    grants = set()
    for policy in resources(tpl, "AWS::IAM::Policy").values():
        if {"Ref": role_id} not in policy["Roles"]:
            continue
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            targets = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            grants |= {(action, target["Fn::GetAtt"][0]) for action in actions if action.startswith("sqs:")
                       for target in targets}  # fmt: skip
    return grants


ROLES = {
    "default": "TasksConsumerRole",
    "ledger.fifo": "TasksConsumerLedgerFifoRole",
    "long": "TasksWorkerLongTaskTaskRole",
    "bulk": "TasksWorkerBulkTaskTaskRole",
}


@pytest.mark.parametrize("name", list(SUFFIX))
def test_a_consumer_receives_from_its_own_queue_only(queues: Synthesis, name: str) -> None:
    tpl = _tpl(queues)
    grants = _sqs_grants(tpl, ROLES[name])
    receiving = {queue for action, queue in grants if action in RECEIVE}
    assert receiving == {_queue_id(tpl, name)}
    sending = {queue for action, queue in grants if action == "sqs:SendMessage"}
    # follow-ups and misrouted messages go to any queue; dead letters to its own DLQ only
    assert sending == {_queue_id(tpl, other) for other in SUFFIX} | {_dlq_id(tpl, name)}
    assert {action for action, _ in grants} <= RECEIVE | {
        "sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl",
    }  # fmt: skip


def _route_queues(tpl: dict[str, Any]) -> dict[str, str]:
    """Task name -> logical id of the queue its POST route sends to."""
    parts = {lid: r["PathPart"] for lid, r in resources(tpl, "AWS::ApiGateway::Resource").items()}
    routes = {}
    for method in resources(tpl, "AWS::ApiGateway::Method").values():
        if method["HttpMethod"] == "POST" and method["Integration"]["Type"] == "AWS":
            *_, queue_name = method["Integration"]["Uri"]["Fn::Join"][1]
            routes[parts[method["ResourceId"]["Ref"]]] = queue_name["Fn::GetAtt"][0]
    return routes


def test_each_tasks_route_sends_to_its_own_queue(queues: Synthesis) -> None:
    from tests.infra.queues_app import app

    tpl = _tpl(queues)
    expected = {name: _queue_id(tpl, task.queue) for name, task in app.registry.items()}
    assert _route_queues(tpl) == expected
    assert len(set(expected.values())) == 4


def test_the_api_may_send_to_every_task_queue_and_nothing_else(queues: Synthesis) -> None:
    tpl = _tpl(queues)
    (role,) = [
        r for lid, r in resources(tpl, "AWS::IAM::Role").items() if lid.startswith("TasksApiEnqueueRole")
    ]
    (policy,) = role["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == "sqs:SendMessage"
    assert sorted(r["Fn::GetAtt"][0] for r in statement["Resource"]) == sorted(
        _queue_id(tpl, name) for name in SUFFIX
    )


def test_a_fifo_queue_is_a_fifo_pair_without_content_deduplication(queues: Synthesis) -> None:
    tpl = _tpl(queues)
    for lid in (_queue_id(tpl, "ledger.fifo"), _dlq_id(tpl, "ledger.fifo")):
        props = resources(tpl, QUEUE)[lid]
        assert (props["FifoQueue"], props["ContentBasedDeduplication"]) == (True, False), lid
    for name in ("default", "long", "bulk"):
        assert "FifoQueue" not in resources(tpl, QUEUE)[_queue_id(tpl, name)]
    assert "MaximumBatchingWindowInSeconds" not in _event_source(tpl, "ledger.fifo")


BODIES = {"ledger.post": '{"account": "a", "cents": 1}', "notify.send": '{"image": "i"}'}


def _sent_fields(tpl: dict[str, Any], task: str, headers: dict[str, str]) -> dict[str, str]:
    from tests.infra.gateway import Gateway

    answer = Gateway(tpl).call(
        "POST", f"/tasks/{task}", headers=headers, body=BODIES[task],
        service=(200, json.dumps({"SendMessageResponse": {"SendMessageResult": {"MessageId": "m"}}})),
    )  # fmt: skip
    assert answer.status == 202, answer
    return dict(parse_qsl(answer.integration_request or "", keep_blank_values=True, strict_parsing=True))


def test_the_fifo_route_sends_group_and_deduplication_ids(queues: Synthesis) -> None:
    from tests.infra.velocity import REQUEST_ID

    tpl = _tpl(queues)
    keyed = _sent_fields(tpl, "ledger.post", {"Idempotency-Key": "k" * 200})
    assert keyed["MessageGroupId"] == "accounts"  # the task's message_group, as the client sends it
    assert keyed["MessageDeduplicationId"] == "k" * 128  # SQS's limit, as the client cuts it
    anonymous = _sent_fields(tpl, "ledger.post", {})
    assert anonymous["MessageDeduplicationId"] == REQUEST_ID
    standard = _sent_fields(tpl, "notify.send", {"Idempotency-Key": "k"})
    assert "MessageGroupId" not in standard
    assert "MessageDeduplicationId" not in standard


def test_the_service_exposes_every_queue_and_the_default_as_before(queues: Synthesis) -> None:
    service = queues.services["Queues"]
    assert list(service.queues) == ["default", "long", "bulk", "ledger.fifo"]
    assert service.queue is service.queues["default"].queue
    assert service.dead_letter_queue is service.queues["default"].dead_letter_queue
    assert service.function is service.queues["default"].function is not None
    assert service.worker is None
    assert service.queues["long"].worker is not None
    assert service.queues["long"].function is None
    assert all(deployed.alarms is not None for deployed in service.queues.values())


def _alarm_targets(tpl: dict[str, Any]) -> dict[str, set[str]]:
    """Metric name -> the queues / functions the alarms on it watch (single-metric alarms)."""
    found: dict[str, set[str]] = {}
    for alarm in resources(tpl, "AWS::CloudWatch::Alarm").values():
        if "MetricName" in alarm:
            (dimension,) = alarm["Dimensions"]
            target = dimension["Value"].get("Fn::GetAtt", [dimension["Value"].get("Ref")])[0]
            found.setdefault(alarm["MetricName"], set()).add(target)
    return found


def test_every_queue_has_its_own_alarms(queues: Synthesis) -> None:
    tpl = _tpl(queues)
    targets = _alarm_targets(tpl)
    assert targets["ApproximateNumberOfMessagesVisible"] == {_dlq_id(tpl, name) for name in SUFFIX}
    assert targets["ApproximateAgeOfOldestMessage"] == {_queue_id(tpl, name) for name in SUFFIX}
    functions = {lid for lid in resources(tpl, "AWS::Lambda::Function") if lid.startswith("TasksConsumer")}
    assert targets["Errors"] == functions
    assert len(functions) == 2


def test_a_lambda_queue_whose_task_needs_more_than_lambda_with_the_margin_fails_synth() -> None:
    import aws_cdk as cdk
    from taskworker_infra import AsyncTaskService

    stack = cdk.Stack(cdk.App(), "Tight")
    with pytest.raises(ValueError, match=r"task 'report.build' on the queue 'reports'.* 920 s") as info:
        AsyncTaskService(stack, "Tasks", app="tests.infra.queues_app:tight_app", project_root=ROOT)
    assert "consumer='worker'" in str(info.value)
    assert "timeout_margin" in str(info.value)


SNAPSHOT = Path(__file__).with_name("no_queues_resources.json")
LATER_FEATURES = ("TasksApiCancelRole", "TasksSchedules")
"""Resources of features added after the snapshot: the DELETE route's role, the schedules."""


@pytest.mark.parametrize("variant", ["Default", "Worker"])
def test_an_app_without_queues_keeps_its_resources_and_logical_ids(synthesis, variant: str) -> None:
    """The resources of the sample app (no queues declared) as they were before queues
    could be declared (``no_queues_resources.json``): nothing renamed (a replacement on
    deploy), nothing added or dropped. API Gateway may gain routes (other features add
    them): there the recorded ids must only all still exist. Deployments are left out,
    their ids are a hash of the API by design; so are the test's own resources (``Caller``)."""
    recorded: dict[str, str] = json.loads(SNAPSHOT.read_text())[variant]
    now = {lid: r["Type"] for lid, r in synthesis.templates[variant]["Resources"].items()
           if lid.startswith("Tasks") and r["Type"] != "AWS::ApiGateway::Deployment"}  # fmt: skip

    def core(ids: dict[str, str]) -> dict[str, str]:
        return {lid: kind for lid, kind in ids.items() if not kind.startswith("AWS::ApiGateway::")}

    added = {lid: kind for lid, kind in core(now).items() if lid not in recorded}
    assert core(recorded).items() <= core(now).items()  # nothing renamed or dropped
    assert all(lid.startswith(LATER_FEATURES) for lid in added), added  # new features only
    assert recorded.items() <= now.items()

# ruff: noqa: N803
# (boto3's keyword arguments are CamelCase; the fake must accept the same names.)
"""In-memory fake of the boto3 SNS client, delivering to a FakeSQS.

Why: taskworker publishes results to SNS topics whose subscribers are SQS
queues.  Tests need the fan-out to behave like the real thing -- raw versus
enveloped delivery, subscription filter policies, FIFO topics with groups and
deduplication, size limits and boto3's error codes -- without the network.

Only the operations taskworker uses are implemented; shapes and error codes
follow botocore's SNS service model (query protocol: ``Error.Code`` is the
modeled code such as ``InvalidParameter`` or ``NotFound``).  Deviations from
real SNS are listed in ``FakeSNS``'s docstring.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import json
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from taskworker.testing.fake_sqs import FailureInjector, FakeSQS, InjectsFailures, message_size

__all__ = ["FakeSNS", "PublishedMessage", "filter_policy_matches"]

Response = dict[str, Any]

MAX_MESSAGE_SIZE = 262_144
MAX_BATCH_ENTRIES = 10
FIFO_DEDUP_WINDOW = 300.0
SNS_SENDER_ID = "AIDAIT2UOQQY3AUEKVGXU"
"""``SenderId`` SQS reports for messages delivered by SNS."""

_TOPIC_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_BATCH_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_TOPIC_ATTRIBUTES = frozenset(
    {
        "DisplayName",
        "Policy",
        "DeliveryPolicy",
        "FifoTopic",
        "ContentBasedDeduplication",
        "KmsMasterKeyId",
        "SignatureVersion",
        "TracingConfig",
        "ArchivePolicy",
        "FifoThroughputScope",
        "DataProtectionPolicy",
    }
)
_SUBSCRIPTION_ATTRIBUTES = frozenset(
    {
        "RawMessageDelivery",
        "FilterPolicy",
        "FilterPolicyScope",
        "RedrivePolicy",
        "DeliveryPolicy",
        "SubscriptionRoleArn",
        "ReplayPolicy",
    }
)
_PROTOCOLS = frozenset(
    {
        "http",
        "https",
        "email",
        "email-json",
        "sms",
        "sqs",
        "application",
        "lambda",
        "firehose",
    }
)
_NEEDS_CONFIRMATION = frozenset({"http", "https", "email", "email-json"})
_OPERATIONS = frozenset(
    {
        "CreateTopic",
        "DeleteTopic",
        "GetTopicAttributes",
        "ListTopics",
        "Subscribe",
        "Unsubscribe",
        "GetSubscriptionAttributes",
        "SetSubscriptionAttributes",
        "ListSubscriptionsByTopic",
        "Publish",
        "PublishBatch",
    }
)
_BATCH_OPERATIONS = frozenset({"PublishBatch"})


# --------------------------------------------------------------------------- errors


@functools.cache
def _exception_classes() -> Any:
    """botocore's generated SNS exception classes (what ``client.exceptions`` holds)."""
    import botocore.session
    from botocore.errorfactory import ClientExceptionsFactory

    model = botocore.session.get_session().get_service_model("sns")
    return ClientExceptionsFactory().create_client_exceptions(model)


_STATUS = {"NotFound": 404, "InternalError": 500, "Throttled": 429}


def sns_error(code: str, message: str, operation: str) -> ClientError:
    """Build the exception boto3 raises for an SNS error ``code``."""
    status = _STATUS.get(code, 400)
    response: Any = {
        "Error": {"Type": "Receiver" if status >= 500 else "Sender", "Code": code, "Message": message},
        "ResponseMetadata": _metadata(status),
    }
    cls: type[ClientError] = _exception_classes().from_code(code)
    return cls(response, operation)


def _metadata(status: int) -> dict[str, Any]:
    return {"RequestId": str(uuid.uuid4()), "HTTPStatusCode": status, "HTTPHeaders": {}, "RetryAttempts": 0}


class _SNSError(Exception):
    """Internal: surfaces as ClientError, or as a PublishBatch ``Failed`` entry."""

    def __init__(self, code: str, message: str, sender_fault: bool = True) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.sender_fault = sender_fault


def _invalid(detail: str) -> _SNSError:
    return _SNSError("InvalidParameter", f"Invalid parameter: {detail}")


def _ok(payload: Mapping[str, Any] | None = None) -> Response:
    response: Response = dict(payload or {})
    response["ResponseMetadata"] = _metadata(200)
    return response


# ------------------------------------------------------------------- filter policies

_OPERATORS = frozenset(
    {
        "prefix",
        "suffix",
        "anything-but",
        "exists",
        "numeric",
        "equals-ignore-case",
    }
)
_NUMERIC_OPS: dict[str, Callable[[float, float], bool]] = {
    "=": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _validate_policy(policy: object, *, nested: bool, depth: int = 0) -> None:
    """Reject filter policies SNS would reject (shape only, not every service limit)."""
    if not isinstance(policy, dict) or not policy:
        raise _invalid("FilterPolicy: Filter policy must be a non-empty JSON object")
    if depth == 0 and len([k for k in policy if k != "$or"]) > 5:
        raise _invalid("FilterPolicy: Filter policy can not have more than 5 keys")
    for key, value in policy.items():
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2:
                raise _invalid("FilterPolicy: $or must be an array of at least 2 objects")
            for branch in value:
                _validate_policy(branch, nested=nested, depth=depth + 1)
        elif isinstance(value, dict) and nested:
            _validate_policy(value, nested=nested, depth=depth + 1)
        elif isinstance(value, list) and value:
            for condition in value:
                _validate_condition(key, condition)
        else:
            raise _invalid(f'FilterPolicy: "{key}" must be an object or an array')


def _validate_condition(key: str, condition: object) -> None:
    if not isinstance(condition, dict):
        return
    if len(condition) != 1 or next(iter(condition)) not in _OPERATORS:
        raise _invalid(f"FilterPolicy: Unrecognized match type {next(iter(condition), '')}")
    ((operator, operand),) = condition.items()
    if operator == "numeric":
        _validate_numeric(key, operand)
    elif operator == "exists" and not isinstance(operand, bool):
        raise _invalid("FilterPolicy: exists match pattern must be either true or false.")
    elif operator in ("prefix", "suffix", "equals-ignore-case") and not isinstance(operand, str):
        raise _invalid(f"FilterPolicy: {operator} match pattern must be a string")


def _validate_numeric(key: str, operand: object) -> None:
    ok = isinstance(operand, list) and len(operand) in (2, 4)
    if ok:
        assert isinstance(operand, list)
        pairs = list(zip(operand[::2], operand[1::2], strict=True))
        ok = all(
            op in _NUMERIC_OPS and isinstance(n, int | float) and not isinstance(n, bool) for op, n in pairs
        )
    if not ok:
        raise _invalid(f"FilterPolicy: Invalid numeric match for key {key}")


def _as_number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def _matches_condition(condition: object, value: object, is_number: bool) -> bool:
    """One policy condition against one scalar value (string, number, bool or None)."""
    if isinstance(condition, dict):
        ((operator, operand),) = condition.items()
        return _matches_operator(operator, operand, value, is_number)
    if isinstance(condition, bool) or condition is None:
        return value is condition
    if isinstance(condition, int | float):
        number = _as_number(value) if is_number or isinstance(value, int | float) else None
        return number is not None and number == float(condition)
    return isinstance(value, str) and not is_number and value == condition


def _matches_operator(operator: str, operand: Any, value: object, is_number: bool) -> bool:
    text = value if isinstance(value, str) and not is_number else None
    if operator == "prefix":
        return text is not None and text.startswith(operand)
    if operator == "suffix":
        return text is not None and text.endswith(operand)
    if operator == "equals-ignore-case":
        return text is not None and text.lower() == str(operand).lower()
    if operator == "numeric":
        number = _as_number(value) if is_number or isinstance(value, int | float) else None
        pairs = zip(operand[::2], operand[1::2], strict=True)
        return number is not None and all(_NUMERIC_OPS[op](number, float(n)) for op, n in pairs)
    if operator == "anything-but":
        if isinstance(operand, dict):
            return not _matches_condition(operand, value, is_number)
        excluded = operand if isinstance(operand, list) else [operand]
        return not any(_matches_condition(x, value, is_number) for x in excluded)
    return False  # "exists" is decided by the caller, which knows about absence


def _matches_key(conditions: list[Any], present: bool, values: list[Any], is_number: bool) -> bool:
    """OR over a key's conditions; ``exists`` looks at presence, others at any value."""
    for condition in conditions:
        if isinstance(condition, dict) and "exists" in condition:
            if condition["exists"] == present:
                return True
        elif present and any(_matches_condition(condition, v, is_number) for v in values):
            return True
    return False


def _attribute_values(attr: Mapping[str, Any]) -> tuple[list[Any], bool]:
    """Candidate values of an SNS message attribute, and whether they compare numerically."""
    data_type = str(attr.get("DataType", ""))
    if data_type.startswith("Binary"):
        return [], False
    value = attr.get("StringValue")
    if data_type.startswith("String.Array"):
        try:
            parsed = json.loads(str(value))
        except ValueError:
            return [], False
        return (parsed if isinstance(parsed, list) else []), False
    return [value], data_type.startswith("Number")


def _match_attributes(policy: Mapping[str, Any], attributes: Mapping[str, Any]) -> bool:
    """MessageAttributes scope: AND over keys, each an OR over its conditions."""
    for key, conditions in policy.items():
        if key == "$or":
            if not any(_match_attributes(branch, attributes) for branch in conditions):
                return False
            continue
        attr = attributes.get(key)
        values, is_number = _attribute_values(attr) if attr is not None else ([], False)
        if not _matches_key(conditions, attr is not None, values, is_number):
            return False
    return True


def _match_body(policy: Mapping[str, Any], body: object) -> bool:
    """MessageBody scope: the policy mirrors the JSON body's nesting."""
    if not isinstance(body, dict):
        return False
    for key, conditions in policy.items():
        if key == "$or":
            if not any(_match_body(branch, body) for branch in conditions):
                return False
            continue
        present = key in body
        value = body.get(key)
        if isinstance(conditions, dict):
            if not _match_body(conditions, value):
                return False
            continue
        values = value if isinstance(value, list) else [value]
        if not _matches_key(conditions, present, values, is_number=False):
            return False
    return True


def filter_policy_matches(
    policy: Mapping[str, Any],
    *,
    attributes: Mapping[str, Mapping[str, Any]] | None = None,
    body: str | None = None,
    scope: str = "MessageAttributes",
) -> bool:
    """Whether a message passes a subscription filter policy (exposed for direct testing)."""
    if scope == "MessageBody":
        try:
            return _match_body(policy, json.loads(body or ""))
        except ValueError:
            return False
    return _match_attributes(policy, attributes or {})


# ------------------------------------------------------------------- message content


def _validate_attributes(attrs: Mapping[str, Mapping[str, Any]] | None) -> dict[str, Any]:
    """Validate SNS message attributes; return them in boto3's request shape."""
    out: dict[str, Any] = {}
    for name, attr in (attrs or {}).items():
        data_type = str(attr.get("DataType", ""))
        base = data_type.split(".", 1)[0]
        if base not in ("String", "Number", "Binary"):
            raise _invalid(
                f"The message attribute '{name}' has an invalid message attribute type, the set "
                "of supported type prefixes is Binary, Number, and String."
            )
        key = "BinaryValue" if base == "Binary" else "StringValue"
        value = attr.get(key)
        if value is None or len(value) == 0:
            raise _invalid(
                f"The message attribute '{name}' must contain non-empty message attribute "
                f"value for message attribute type '{base}'."
            )
        if base == "Number" and _as_number(value) is None:
            raise _invalid(f"Could not cast message attribute '{name}' value to number.")
        if data_type == "String.Array":
            _check_string_array(name, str(value))
        if base == "Binary":
            out[name] = {"DataType": data_type, "BinaryValue": _to_bytes(value)}
        else:
            out[name] = {"DataType": data_type, "StringValue": str(value)}
    return out


def _check_string_array(name: str, value: str) -> None:
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    if not isinstance(parsed, list) or any(isinstance(v, list | dict) for v in parsed):
        raise _invalid(
            f"The message attribute '{name}' with type 'String.Array' has to be a JSON array "
            "of strings, numbers, booleans or nulls."
        )


def _to_bytes(value: object) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise TypeError(f"BinaryValue must be bytes or str, not {type(value).__name__}")


def _check_subject(subject: object) -> None:
    if subject is None:
        return
    text = str(subject)
    if not 1 <= len(text) <= 100 or not all(" " <= ch <= "~" for ch in text):
        raise _invalid("Subject")


def _sqs_message(message: str, structure: str | None) -> str:
    """The text an SQS subscriber gets: with ``MessageStructure=json``, its ``sqs`` or default."""
    if structure is None:
        return message
    if structure != "json":
        raise _invalid("MessageStructure")
    try:
        parsed = json.loads(message)
    except ValueError:
        raise _invalid("Message Structure - JSON message body failed to parse") from None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("default"), str):
        raise _invalid("Message Structure - No default entry in JSON message body")
    return str(parsed.get("sqs", parsed["default"]))


# ------------------------------------------------------------------- topic state


@dataclass(frozen=True)
class PublishedMessage:
    """One accepted publish, as recorded in ``FakeSNS.published`` for test assertions."""

    topic_arn: str
    message_id: str
    message: str
    subject: str | None
    attributes: dict[str, Any]
    group_id: str | None = None
    dedup_id: str | None = None
    sequence_number: str | None = None
    structure: str | None = None
    deduplicated: bool = False
    delivered_to: tuple[str, ...] = ()


@dataclass
class _Subscription:
    arn: str
    topic_arn: str
    protocol: str
    endpoint: str
    attributes: dict[str, str]

    @property
    def raw(self) -> bool:
        return self.attributes.get("RawMessageDelivery", "false").lower() == "true"

    def accepts(self, attributes: Mapping[str, Any], message: str) -> bool:
        raw_policy = self.attributes.get("FilterPolicy")
        if not raw_policy:
            return True
        scope = self.attributes.get("FilterPolicyScope", "MessageAttributes")
        return filter_policy_matches(json.loads(raw_policy), attributes=attributes, body=message, scope=scope)


@dataclass
class _Topic:
    name: str
    arn: str
    attributes: dict[str, str]
    subscriptions: dict[str, _Subscription] = field(default_factory=dict)
    dedup: dict[str, tuple[float, str, str | None]] = field(default_factory=dict)

    @property
    def fifo(self) -> bool:
        return self.attributes.get("FifoTopic") == "true"


@dataclass(frozen=True)
class _Publish:
    """One validated publish request (single or batch entry)."""

    message: str
    sqs_message: str
    subject: str | None
    attributes: dict[str, Any]
    structure: str | None
    group_id: str | None
    dedup_id: str | None


# --------------------------------------------------------------------------- the fake


class FakeSNS(InjectsFailures):
    """Thread-safe in-memory stand-in for ``boto3.client("sns")``, fanning out to a FakeSQS.

    Extras beyond boto3: ``calls`` (Counter of operation names), ``fail_next``
    (failure injection, as on FakeSQS), ``published`` (every accepted publish,
    as ``PublishedMessage``) and ``exceptions`` (a real client's exception classes).

    Deliberate deviations from real SNS:

    * Delivery to SQS is synchronous and in publish order; real SNS delivers
      asynchronously (standard topics may reorder or duplicate).
    * Only ``sqs`` subscriptions deliver.  Other protocols are recorded
      (http/https/email ones stay "pending confirmation") but receive nothing.
    * A subscription whose queue is missing, or rejects the message (e.g. more
      than 10 attributes on raw delivery), silently drops it: SNS would retry
      and then use the subscription's redrive policy, which is not modelled.
    * The envelope's ``Signature`` is a placeholder, not a verifiable signature.
    * Subscriptions are confirmed immediately and no queue policy is checked.
    * ``MessageGroupId`` is accepted on standard topics (as SNS has allowed since
      2025 for fair queues) and passed through to the queue.
    """

    def __init__(
        self,
        sqs: FakeSQS | None = None,
        *,
        region: str | None = None,
        account_id: str | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.sqs = sqs
        self.region = region or (sqs.region if sqs else "us-east-1")
        self.account_id = account_id or (sqs.account_id if sqs else "123456789012")
        self._clock = clock or (sqs.clock if sqs else time.time)
        self.calls: Counter[str] = Counter()
        self.published: list[PublishedMessage] = []
        self._lock = threading.RLock()
        self._topics: dict[str, _Topic] = {}
        self._sequence = 0
        self._injector = FailureInjector(_OPERATIONS, _BATCH_OPERATIONS)

    # ------------------------------------------------------------------ extras

    @property
    def exceptions(self) -> Any:
        """SNS exception classes, as on a real client (``fake.exceptions.NotFoundException``)."""
        return _exception_classes()

    # --------------------------------------------------------------- plumbing

    @contextlib.contextmanager
    def _api(self, operation: str) -> Iterator[None]:
        """Hold the lock for one request, count it, and map internal failures to ClientError."""
        with self._lock:
            try:
                self.calls[operation] += 1
                injected = self._injector.take_call(operation)
                if injected is not None:
                    raise _SNSError(injected.code, injected.message, injected.sender_fault)
                yield
            except _SNSError as failure:
                raise sns_error(failure.code, failure.message, operation) from None

    def _topic(self, arn: object) -> _Topic:
        prefix = f"arn:aws:sns:{self.region}:{self.account_id}:"
        text = str(arn or "")
        if not text.startswith("arn:aws:sns:"):
            raise _invalid("TopicArn")
        topic = self._topics.get(text[len(prefix) :]) if text.startswith(prefix) else None
        if topic is None:
            raise _SNSError("NotFound", "Topic does not exist")
        return topic

    def _subscription(self, arn: object) -> _Subscription:
        text = _check_subscription_arn(arn)
        for topic in self._topics.values():
            if text in topic.subscriptions:
                return topic.subscriptions[text]
        raise _SNSError("NotFound", "Subscription does not exist")

    def _next_sequence(self) -> str:
        self._sequence += 1
        return str(10_000_000_000_000_000_000 + self._sequence * 1000)

    # ------------------------------------------------------------------ topics

    def create_topic(
        self,
        *,
        Name: str,
        Attributes: Mapping[str, str] | None = None,
        Tags: Sequence[Mapping[str, str]] | None = None,
        DataProtectionPolicy: str | None = None,
    ) -> Response:
        """Create a topic, or return the ARN of an identical existing one (idempotent)."""
        with self._api("CreateTopic"):
            attrs = {k: str(v) for k, v in (Attributes or {}).items()}
            for key in attrs:
                if key not in _TOPIC_ATTRIBUTES:
                    raise _invalid("AttributeName")
            fifo = _check_topic_name(Name, attrs)
            existing = self._topics.get(Name)
            if existing is not None:
                if any(existing.attributes.get(k) != v for k, v in _topic_config(attrs, fifo).items()):
                    raise _invalid("Attributes Reason: Topic already exists with different attributes")
                return _ok({"TopicArn": existing.arn})
            arn = f"arn:aws:sns:{self.region}:{self.account_id}:{Name}"
            self._topics[Name] = _Topic(Name, arn, _topic_config(attrs, fifo))
            return _ok({"TopicArn": arn})

    def delete_topic(self, *, TopicArn: str) -> Response:
        """Delete a topic and its subscriptions (deleting a missing topic succeeds, as in SNS)."""
        with self._api("DeleteTopic"):
            with contextlib.suppress(_SNSError):
                del self._topics[self._topic(TopicArn).name]
            return _ok()

    def list_topics(self, *, NextToken: str | None = None) -> Response:
        with self._api("ListTopics"):
            topics = [{"TopicArn": t.arn} for _, t in sorted(self._topics.items())]
            return _ok({"Topics": topics})

    def get_topic_attributes(self, *, TopicArn: str) -> Response:
        with self._api("GetTopicAttributes"):
            topic = self._topic(TopicArn)
            attrs = {
                "TopicArn": topic.arn,
                "Owner": self.account_id,
                "Policy": _default_policy(topic.arn, self.account_id),
                "SubscriptionsConfirmed": str(
                    sum(s.protocol not in _NEEDS_CONFIRMATION for s in topic.subscriptions.values())
                ),
                "SubscriptionsPending": str(
                    sum(s.protocol in _NEEDS_CONFIRMATION for s in topic.subscriptions.values())
                ),
                "SubscriptionsDeleted": "0",
                **topic.attributes,
            }
            return _ok({"Attributes": attrs})

    # ----------------------------------------------------------- subscriptions

    def subscribe(
        self,
        *,
        TopicArn: str,
        Protocol: str,
        Endpoint: str | None = None,
        Attributes: Mapping[str, str] | None = None,
        ReturnSubscriptionArn: bool = False,
    ) -> Response:
        """Subscribe an endpoint; an identical subscription returns the same ARN."""
        with self._api("Subscribe"):
            topic = self._topic(TopicArn)
            if Protocol not in _PROTOCOLS:
                raise _invalid(f"Amazon SNS does not support this protocol string: {Protocol}")
            endpoint = str(Endpoint or "")
            if Protocol == "sqs":
                _check_sqs_endpoint(endpoint, fifo_topic=topic.fifo)
            attrs = _check_subscription_attributes(Attributes or {})
            for sub in topic.subscriptions.values():
                if (sub.protocol, sub.endpoint) == (Protocol, endpoint):
                    if any(sub.attributes.get(k) != v for k, v in attrs.items()):
                        raise _invalid(
                            "Attributes Reason: Subscription already exists with different attributes"
                        )
                    return _ok({"SubscriptionArn": sub.arn})
            sub = _Subscription(f"{topic.arn}:{uuid.uuid4()}", topic.arn, Protocol, endpoint, attrs)
            topic.subscriptions[sub.arn] = sub
            pending = Protocol in _NEEDS_CONFIRMATION and not ReturnSubscriptionArn
            return _ok({"SubscriptionArn": "pending confirmation" if pending else sub.arn})

    def unsubscribe(self, *, SubscriptionArn: str) -> Response:
        """Remove a subscription; an unknown (well-formed) ARN succeeds, so retries are safe."""
        with self._api("Unsubscribe"):
            with contextlib.suppress(_SNSError):
                sub = self._subscription(SubscriptionArn)
                del self._topics[sub.topic_arn.rsplit(":", 1)[1]].subscriptions[sub.arn]
                return _ok()
            _check_subscription_arn(SubscriptionArn)
            return _ok()

    def get_subscription_attributes(self, *, SubscriptionArn: str) -> Response:
        with self._api("GetSubscriptionAttributes"):
            sub = self._subscription(SubscriptionArn)
            attrs = {
                "SubscriptionArn": sub.arn,
                "TopicArn": sub.topic_arn,
                "Protocol": sub.protocol,
                "Endpoint": sub.endpoint,
                "Owner": self.account_id,
                "ConfirmationWasAuthenticated": "true",
                "PendingConfirmation": "false",
                "RawMessageDelivery": "false",
                **sub.attributes,
            }
            return _ok({"Attributes": attrs})

    def set_subscription_attributes(
        self, *, SubscriptionArn: str, AttributeName: str, AttributeValue: str = ""
    ) -> Response:
        with self._api("SetSubscriptionAttributes"):
            sub = self._subscription(SubscriptionArn)
            sub.attributes.update(_check_subscription_attributes({AttributeName: AttributeValue}))
            return _ok()

    def list_subscriptions_by_topic(self, *, TopicArn: str, NextToken: str | None = None) -> Response:
        with self._api("ListSubscriptionsByTopic"):
            topic = self._topic(TopicArn)
            subs = [
                {
                    "SubscriptionArn": s.arn,
                    "Owner": self.account_id,
                    "Protocol": s.protocol,
                    "Endpoint": s.endpoint,
                    "TopicArn": s.topic_arn,
                }
                for s in topic.subscriptions.values()
            ]
            return _ok({"Subscriptions": subs})

    # -------------------------------------------------------------- publishing

    def publish(
        self,
        *,
        Message: str,
        TopicArn: str | None = None,
        TargetArn: str | None = None,
        PhoneNumber: str | None = None,
        Subject: str | None = None,
        MessageStructure: str | None = None,
        MessageAttributes: Mapping[str, Mapping[str, Any]] | None = None,
        MessageDeduplicationId: str | None = None,
        MessageGroupId: str | None = None,
    ) -> Response:
        """Publish to a topic and deliver to its matching SQS subscriptions."""
        with self._api("Publish"):
            if PhoneNumber is not None and not (TopicArn or TargetArn):
                raise _invalid("PhoneNumber Reason: SMS is not supported by this fake")
            if not (TopicArn or TargetArn):
                raise _invalid("TopicArn or TargetArn Reason: no value for required parameter")
            topic = self._topic(TopicArn or TargetArn)
            request = _validate_publish(
                topic,
                {
                    "Message": Message,
                    "Subject": Subject,
                    "MessageStructure": MessageStructure,
                    "MessageAttributes": MessageAttributes,
                    "MessageDeduplicationId": MessageDeduplicationId,
                    "MessageGroupId": MessageGroupId,
                },
            )
            return _ok(self._publish_one(topic, request))

    def publish_batch(
        self, *, TopicArn: str, PublishBatchRequestEntries: Sequence[Mapping[str, Any]]
    ) -> Response:
        """Publish up to 10 messages; invalid entries fail individually in ``Failed``."""
        with self._api("PublishBatch"):
            topic = self._topic(TopicArn)
            entries = PublishBatchRequestEntries
            _check_batch(entries)
            successful: list[dict[str, Any]] = []
            failed: list[dict[str, Any]] = []
            for entry in entries:
                entry_id = str(entry["Id"])
                try:
                    injected = self._injector.take_entry("PublishBatch", entry_id)
                    if injected is not None:
                        raise _SNSError(injected.code, injected.message, injected.sender_fault)
                    result = self._publish_one(topic, _validate_publish(topic, entry))
                    successful.append({"Id": entry_id, **result})
                except _SNSError as failure:
                    failed.append(
                        {
                            "Id": entry_id,
                            "Code": failure.code,
                            "Message": failure.message,
                            "SenderFault": failure.sender_fault,
                        }
                    )
            return _ok({"Successful": successful, "Failed": failed})

    def _publish_one(self, topic: _Topic, request: _Publish) -> dict[str, str]:
        """Deduplicate (FIFO), record, and fan out one validated message."""
        now = self._clock()
        for key in [k for k, (until, _, _) in topic.dedup.items() if now >= until]:
            del topic.dedup[key]
        if topic.fifo and request.dedup_id in topic.dedup:
            _, message_id, sequence = topic.dedup[request.dedup_id]
            self._record(topic, request, message_id, sequence, deduplicated=True)
            return _publish_result(message_id, sequence)
        message_id = str(uuid.uuid4())
        sequence = self._next_sequence() if topic.fifo else None
        if topic.fifo and request.dedup_id is not None:
            topic.dedup[request.dedup_id] = (now + FIFO_DEDUP_WINDOW, message_id, sequence)
        delivered = self._deliver(topic, request, message_id, sequence, now)
        self._record(topic, request, message_id, sequence, delivered_to=delivered)
        return _publish_result(message_id, sequence)

    def _record(
        self,
        topic: _Topic,
        request: _Publish,
        message_id: str,
        sequence: str | None,
        *,
        deduplicated: bool = False,
        delivered_to: tuple[str, ...] = (),
    ) -> None:
        self.published.append(
            PublishedMessage(
                topic_arn=topic.arn,
                message_id=message_id,
                message=request.message,
                subject=request.subject,
                attributes=request.attributes,
                group_id=request.group_id,
                dedup_id=request.dedup_id,
                sequence_number=sequence,
                structure=request.structure,
                deduplicated=deduplicated,
                delivered_to=delivered_to,
            )
        )

    def _deliver(
        self,
        topic: _Topic,
        request: _Publish,
        message_id: str,
        sequence: str | None,
        now: float,
    ) -> tuple[str, ...]:
        """Put the message on every matching SQS subscription's queue; return their ARNs."""
        if self.sqs is None:
            return ()
        delivered: list[str] = []
        for sub in list(topic.subscriptions.values()):
            if sub.protocol != "sqs" or not sub.accepts(request.attributes, request.sqs_message):
                continue
            if sub.raw:
                body, attrs = request.sqs_message, request.attributes
            else:
                body = _envelope(topic, sub, request, message_id, sequence, now, self.region)
                attrs = {}
            queued = self.sqs.inject_message(
                sub.endpoint,
                body,
                attributes=attrs,
                group_id=request.group_id,
                dedup_id=request.dedup_id,
                sender_id=SNS_SENDER_ID,
            )
            if queued is not None:
                delivered.append(sub.endpoint)
        return tuple(delivered)


# ----------------------------------------------------------------- module helpers


def _check_topic_name(name: str, attrs: Mapping[str, str]) -> bool:
    """Validate a topic name against FifoTopic; return whether the topic is FIFO."""
    fifo = attrs.get("FifoTopic", "false").lower() == "true"
    if fifo or name.endswith(".fifo"):
        stem = name[: -len(".fifo")] if name.endswith(".fifo") else ""
        if not (fifo and stem and _TOPIC_NAME_RE.match(stem) and len(name) <= 256):
            raise _invalid(
                "Fifo Topic names must end with .fifo and must be made up of only uppercase and "
                "lowercase ASCII letters, numbers, underscores, and hyphens, and must be between "
                "1 and 256 characters long."
            )
        return True
    if "ContentBasedDeduplication" in attrs:
        raise _invalid(
            "ContentBasedDeduplication Reason: Content-based deduplication can only be set for FIFO topics"
        )
    if not _TOPIC_NAME_RE.match(name):
        raise _invalid("Topic Name")
    return False


def _check_subscription_arn(arn: object) -> str:
    text = str(arn or "")
    if not text.startswith("arn:aws:sns:") or text.count(":") != 6:
        raise _invalid("SubscriptionArn")
    return text


def _topic_config(attrs: Mapping[str, str], fifo: bool) -> dict[str, str]:
    config = {"DisplayName": "", **attrs}
    if fifo:
        config["FifoTopic"] = "true"
        config["ContentBasedDeduplication"] = attrs.get("ContentBasedDeduplication", "false").lower()
    else:
        config.pop("FifoTopic", None)
    return config


def _default_policy(arn: str, account_id: str) -> str:
    return json.dumps(
        {
            "Version": "2008-10-17",
            "Id": "__default_policy_ID",
            "Statement": [
                {
                    "Sid": "__default_statement_ID",
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": ["SNS:Publish", "SNS:Subscribe", "SNS:Receive"],
                    "Resource": arn,
                    "Condition": {"StringEquals": {"AWS:SourceOwner": account_id}},
                }
            ],
        }
    )


def _check_sqs_endpoint(endpoint: str, *, fifo_topic: bool) -> None:
    parts = endpoint.split(":")
    if len(parts) != 6 or parts[:3] != ["arn", "aws", "sqs"] or not parts[5]:
        raise _invalid("SQS endpoint ARN")
    fifo_queue = parts[5].endswith(".fifo")
    if fifo_queue and not fifo_topic:
        raise _invalid(
            "Invalid parameter: Endpoint Reason: FIFO SQS Queues can not be subscribed to standard SNS topics"
        )
    if fifo_topic and not fifo_queue:
        raise _invalid("Invalid parameter: Endpoint Reason: Please use FIFO SQS queue")


def _check_subscription_attributes(attrs: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in attrs.items():
        if name not in _SUBSCRIPTION_ATTRIBUTES:
            raise _invalid(f"Attributes Reason: Unknown attribute: {name}")
        text = str(value)
        if name == "RawMessageDelivery" and text.lower() not in ("true", "false"):
            raise _invalid(
                "Attributes Reason: RawMessageDelivery: Invalid value [" + text + "]. Must be true or false."
            )
        if name == "FilterPolicyScope" and text not in ("MessageAttributes", "MessageBody"):
            raise _invalid(
                "Attributes Reason: FilterPolicyScope: Invalid value ["
                + text
                + "]. Please use either MessageBody or MessageAttributes"
            )
        out[name] = text.lower() if name == "RawMessageDelivery" else text
    if out.get("FilterPolicy"):
        try:
            policy = json.loads(out["FilterPolicy"])
        except ValueError:
            raise _invalid("FilterPolicy: failed to parse JSON.") from None
        nested = out.get("FilterPolicyScope") == "MessageBody"
        _validate_policy(policy, nested=nested)
    return out


def _validate_publish(topic: _Topic, entry: Mapping[str, Any]) -> _Publish:
    """Validate one Publish request or PublishBatch entry against the topic."""
    message = entry.get("Message")
    if not isinstance(message, str) or message == "":
        raise _invalid("Empty message")
    _check_subject(entry.get("Subject"))
    structure = entry.get("MessageStructure")
    sqs_message = _sqs_message(message, structure)
    attrs = _validate_attributes(entry.get("MessageAttributes"))
    if message_size(message, attrs) > MAX_MESSAGE_SIZE:
        raise _invalid("Message too long")
    group = entry.get("MessageGroupId")
    dedup = entry.get("MessageDeduplicationId")
    if topic.fifo:
        if not group:
            raise _invalid("The MessageGroupId parameter is required for FIFO topics")
        if dedup is None:
            if topic.attributes.get("ContentBasedDeduplication") != "true":
                raise _invalid(
                    "The topic should either have ContentBasedDeduplication enabled "
                    "or MessageDeduplicationId provided explicitly"
                )
            dedup = hashlib.sha256(message.encode("utf-8")).hexdigest()
    elif dedup is not None:
        raise _invalid(
            "MessageDeduplicationId Reason: The request includes "
            "MessageDeduplicationId parameter that is not valid for this topic type"
        )
    return _Publish(
        message=message,
        sqs_message=sqs_message,
        subject=entry.get("Subject"),
        attributes=attrs,
        structure=structure,
        group_id=str(group) if group else None,
        dedup_id=str(dedup) if dedup else None,
    )


def _check_batch(entries: Sequence[Mapping[str, Any]]) -> None:
    """Whole-request PublishBatch checks (size is checked before any entry is published)."""
    if not entries:
        raise _SNSError("EmptyBatchRequest", "The batch request doesn't contain any entries.")
    if len(entries) > MAX_BATCH_ENTRIES:
        raise _SNSError(
            "TooManyEntriesInBatchRequest", "The batch request contains more entries than permissible."
        )
    ids = [str(e.get("Id", "")) for e in entries]
    if not all(_BATCH_ID_RE.match(i) for i in ids):
        raise _SNSError(
            "InvalidBatchEntryId",
            "The Id of a batch entry in a batch request doesn't abide by the specification.",
        )
    if len(set(ids)) != len(ids):
        raise _SNSError(
            "BatchEntryIdsNotDistinct", "Two or more batch entries in the request have the same Id."
        )
    total = 0
    for entry in entries:
        message = entry.get("Message")
        try:
            total += message_size(
                message if isinstance(message, str) else "", entry.get("MessageAttributes") or {}
            )
        except TypeError:
            continue
    if total > MAX_MESSAGE_SIZE:
        raise _SNSError(
            "BatchRequestTooLong", "The length of all the messages put together is more than the limit."
        )


def _publish_result(message_id: str, sequence: str | None) -> dict[str, str]:
    result = {"MessageId": message_id}
    if sequence is not None:
        result["SequenceNumber"] = sequence
    return result


def _envelope(
    topic: _Topic,
    sub: _Subscription,
    request: _Publish,
    message_id: str,
    sequence: str | None,
    now: float,
    region: str,
) -> str:
    """The JSON notification SNS puts in an SQS message body when delivery is not raw."""
    doc: dict[str, Any] = {"Type": "Notification", "MessageId": message_id}
    if sequence is not None:
        doc["SequenceNumber"] = sequence
    doc["TopicArn"] = topic.arn
    if request.subject is not None:
        doc["Subject"] = request.subject
    stamp = datetime.fromtimestamp(now, tz=UTC).isoformat(timespec="milliseconds")
    doc.update(
        {
            "Message": request.sqs_message,
            "Timestamp": stamp.replace("+00:00", "Z"),
            "SignatureVersion": "1",
            "Signature": base64.b64encode(hashlib.sha1(message_id.encode()).digest()).decode(),
            "SigningCertURL": f"https://sns.{region}.amazonaws.com/SimpleNotificationService-fake.pem",
            "UnsubscribeURL": f"https://sns.{region}.amazonaws.com/"
            f"?Action=Unsubscribe&SubscriptionArn={sub.arn}",
        }
    )
    if request.attributes:
        doc["MessageAttributes"] = {
            name: _envelope_attribute(attr) for name, attr in request.attributes.items()
        }
    return json.dumps(doc, indent=2, separators=(",", " : "))


def _envelope_attribute(attr: Mapping[str, Any]) -> dict[str, str]:
    if "BinaryValue" in attr:
        value = base64.b64encode(attr["BinaryValue"]).decode("ascii")
    else:
        value = str(attr["StringValue"])
    return {"Type": str(attr["DataType"]), "Value": value}

"""The local stack behind ``taskworker dev``: the whole pipeline on one machine.

An embedded AWS endpoint (moto's server) with the queue, DLQ, topic and tables; a local
HTTP API that mirrors the deployed one; the consumer, as an emulation of Lambda's SQS event
source or as the container worker; and a live log of result events. Needs the ``dev`` extra.

``DevStack`` is imported on first use, so the event-source emulation and the provisioning
(which the testing kit, the integration tests and the benchmarks share) import light.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from taskworker.dev.stack import DevStack, DevStackConfig

__all__ = ["DevStack", "DevStackConfig"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from taskworker.dev import stack

        return getattr(stack, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

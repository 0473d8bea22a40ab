"""The local stack behind ``taskworker dev``: the whole pipeline on one machine.

An embedded AWS endpoint (moto's server) with the queue, DLQ, topic and tables; a local
HTTP API that mirrors the deployed one; the consumer, as an emulation of Lambda's SQS event
source or as the container worker; and a live log of result events. Needs the ``dev`` extra.
"""

from taskworker.dev.stack import DevStack, DevStackConfig

__all__ = ["DevStack", "DevStackConfig"]

"""Proof that a test stays offline: every outgoing connection and name lookup refused.

The testing kit promises that nothing it runs opens a socket unless the test configured
an endpoint. :func:`sockets_blocked` (the ``no_network`` fixture of the pytest plugin)
turns a silent trip to AWS (credential lookup, ``GetQueueUrl``, a publish) into an
immediate, named failure.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class NetworkBlockedError(RuntimeError):
    """Raised by a connection attempt or a name lookup while sockets are blocked."""


@contextmanager
def sockets_blocked() -> Iterator[list[str]]:
    """Refuse ``connect``, ``connect_ex`` and ``getaddrinfo`` until the block ends.

    Yields the list of refused targets: code that swallows errors (best-effort AWS calls
    do) would hide a refusal, so a test asserts that the list stayed empty.
    """
    attempts: list[str] = []

    def refuse(*args: Any, **_: Any) -> Any:
        target = args[1] if len(args) > 1 and isinstance(args[0], socket.socket) else args[0] if args else "?"
        attempts.append(repr(target))
        raise NetworkBlockedError(f"network access while sockets are blocked: {target!r}")

    saved = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo
    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse  # type: ignore[method-assign]
    socket.getaddrinfo = refuse
    try:
        yield attempts
    finally:
        socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = saved  # type: ignore[method-assign]

"""Checking a port before a server binds it, for an error a person can act on."""

from __future__ import annotations

import socket

LOCALHOST = "127.0.0.1"


class PortInUseError(RuntimeError):
    """The port is taken; the message says which and what to do."""


def ensure_free(port: int, what: str, option: str) -> None:
    """Raise :class:`PortInUseError` when ``port`` on 127.0.0.1 cannot be bound.

    A server thread that fails to bind would otherwise die silently while its starter
    waits forever for it to become ready.
    """
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((LOCALHOST, port))
        except OSError as exc:
            raise PortInUseError(
                f"port {port} on {LOCALHOST} is already in use ({exc.strerror}); "
                f"stop what uses it or pick another port for the {what} with {option}"
            ) from None

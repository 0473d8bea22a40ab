"""Checking a port before a server binds it, for an error a person can act on."""

from __future__ import annotations

import socket

LOCALHOST = "127.0.0.1"


class PortInUseError(RuntimeError):
    """The port is taken; the message says which and what to do."""


def ensure_free(port: int, what: str, option: str) -> None:
    """Raise :class:`PortInUseError` when ``port`` on 127.0.0.1 cannot be bound.

    A server thread that fails to bind would otherwise die silently while its starter
    waits forever for it to become ready. The probe binds with ``SO_REUSEADDR``, as the
    servers do (http.server, werkzeug): connections of a stopped server lingering in
    TIME_WAIT then do not count as "in use", while a listener still does.
    """
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOCALHOST, port))
        except OSError as exc:
            raise PortInUseError(
                f"port {port} on {LOCALHOST} is already in use ({exc.strerror}); "
                f"stop what uses it or pick another port for the {what} with {option}"
            ) from None

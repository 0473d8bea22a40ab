"""Who may look and who may change: the console's safety model in one place.

* **Changes** (redrive, delete) exist only when the console was started with
  ``--allow-changes``; otherwise every mutating route answers 403.
* **Token**: on 127.0.0.1 the console trusts the machine; bound anywhere else it requires
  a token, checked on every request (constant-time compare). A browser brings it once as
  ``?token=...`` and keeps it in an HttpOnly, SameSite=Strict cookie; scripts send
  ``Authorization: Bearer ...``.
* **DNS rebinding**: without a token, a request must name a loopback host (``Host:
  127.0.0.1:8001``, ``localhost``), so a web page whose domain an attacker points at
  127.0.0.1 cannot read the console through the operator's browser.
* **CSRF**: every form carries a per-process token that each POST must return, so another
  site open in the same browser cannot post to the console.
* Nothing the browser receives holds AWS credentials: the console calls AWS itself.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Mapping

TOKEN_COOKIE = "taskworker_console_token"
TOKEN_PARAM = "token"
CSRF_FIELD = "csrf"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def required_token(host: str, token: str | None) -> str | None:
    """The token requests must bring: the given one, a fresh one off loopback, else none."""
    if token:
        return token
    return None if is_loopback(host) else secrets.token_urlsafe(24)


def names_loopback(host_header: str) -> bool:
    """Whether a ``Host`` header names this machine by a loopback address or ``localhost``."""
    host = host_header.rsplit(":", 1)[0] if not host_header.endswith("]") else host_header
    return is_loopback(host.strip("[]"))


def same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def presented_token(
    headers: Mapping[str, str], cookies: Mapping[str, str], query: Mapping[str, str]
) -> str | None:
    """The token a request brings, from the header, the query or the cookie."""
    authorization = headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return query.get(TOKEN_PARAM) or cookies.get(TOKEN_COOKIE)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)

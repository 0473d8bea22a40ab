"""API Gateway's mapping-template engine, emulated well enough to run our templates in tests.

``airspeed`` parses and renders Velocity; this module supplies what API Gateway adds, as
its developer guide documents it: ``$input`` (body, json, params, path), ``$util``
(urlEncode, urlDecode, escapeJavaScript, parseJson, base64Encode, base64Decode) with the
Java semantics AWS uses, ``$context`` (request id, identity, authorizer, responseOverride),
and the Java ``String``/``Map`` methods templates call. Two of airspeed's departures from
Velocity 1.7 (API Gateway's engine) are undone: string literals do not process backslash
escapes (AWS's own ``replaceAll("\\\\'","'")`` idiom depends on that), and ``#set`` targets
may contain ``-`` (``$context.responseOverride.header.Retry-After``).
"""

from __future__ import annotations

import base64
import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any

import airspeed

_NEVER = re.compile(r"(?!)")
airspeed.StringLiteral.ESCAPED_CHAR = _NEVER
airspeed.InterpolatedStringLiteral.ESCAPED_CHAR = _NEVER
airspeed.SetDirective.PLACE = re.compile(r"\s*\$([a-z_][a-z0-9_-]*(?:\.[a-z_][a-z0-9_-]*)*)", re.S | re.I)


def _java_replacement(replacement: str) -> Any:
    """Java's ``Matcher`` replacement: ``$n`` is a group, ``\\x`` is ``x``."""

    def expand(match: re.Match[str]) -> str:
        out, chars = [], iter(replacement)
        for char in chars:
            if char == "\\":
                out.append(next(chars, ""))
            elif char == "$":
                out.append(match.group(int(next(chars))) or "")
            else:
                out.append(char)
        return "".join(out)

    return expand


airspeed.__additional_methods__[str].update(
    {
        "replaceAll": lambda s, pattern, repl: re.sub(pattern, _java_replacement(repl), s),
        "toLowerCase": lambda s: s.lower(),
        "equalsIgnoreCase": lambda s, other: other is not None and s.lower() == str(other).lower(),
        "isEmpty": lambda s: not s,
        "trim": lambda s: s.strip(),
        "substring": lambda s, begin, end=None: s[begin:end],
    }
)
airspeed.__additional_methods__[dict].update(
    {"containsKey": lambda d, key: key in d, "size": lambda d: len(d)}
)

_URL_SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-*_")


def url_encode(text: str) -> str:
    """``java.net.URLEncoder.encode(text, "UTF-8")``: space is ``+``, ``~`` is encoded."""
    out = []
    for byte in text.encode("utf-8"):
        if byte in _URL_SAFE:
            out.append(chr(byte))
        elif byte == 0x20:
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def url_decode(text: str) -> str:
    """``java.net.URLDecoder.decode(text, "UTF-8")``."""
    from urllib.parse import unquote_plus

    return unquote_plus(text)


_JS_ESCAPES = {"'": "\\'", '"': '\\"', "\\": "\\\\", "/": "\\/",
               "\b": "\\b", "\n": "\\n", "\t": "\\t", "\f": "\\f", "\r": "\\r"}  # fmt: skip


def escape_javascript(text: str) -> str:
    """Commons Lang's ``StringEscapeUtils.escapeJavaScript`` (AWS's ``$util``): ``'`` becomes
    ``\\'``, ``/`` becomes ``\\/``, control and non-ASCII characters ``\\uXXXX`` (uppercase,
    per UTF-16 code unit)."""
    out = []
    units = text.encode("utf-16-be")
    for i in range(0, len(units), 2):
        unit = int.from_bytes(units[i : i + 2], "big")
        char = chr(unit) if unit < 0xD800 or unit > 0xDFFF else ""
        if char in _JS_ESCAPES:
            out.append(_JS_ESCAPES[char])
        elif unit < 0x20 or unit > 0x7F:
            out.append(f"\\u{unit:04X}")
        else:
            out.append(char)
    return "".join(out)


class Util:
    """``$util``."""

    def escapeJavaScript(self, text: Any) -> str:  # noqa: N802 - the VTL name
        return escape_javascript("" if text is None else str(text))

    def urlEncode(self, text: Any) -> str:  # noqa: N802
        return url_encode("" if text is None else str(text))

    def urlDecode(self, text: str) -> str:  # noqa: N802
        return url_decode(text)

    def parseJson(self, text: str) -> Any:  # noqa: N802
        return json.loads(text)

    def base64Encode(self, text: str) -> str:  # noqa: N802
        return base64.b64encode(text.encode()).decode()

    def base64Decode(self, text: str) -> str:  # noqa: N802
        return base64.b64decode(text).decode()


def _json_path(document: Any, path: str) -> Any:
    """The dotted JSONPath subset templates use: ``$``, ``$.a.b``, ``$['a']``."""
    value = document
    for part in re.findall(r"\.([^.\[]+)|\['([^']+)'\]", path[1:]):
        key = part[0] or part[1]
        value = value.get(key) if isinstance(value, dict) else None
    return value


class Input:
    """``$input`` of one template: the payload (request or integration response) and the
    method request's parameters."""

    def __init__(self, body: str, params: dict[str, dict[str, str]]) -> None:
        self.body = body
        self._params = params

    def _document(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    def json(self, path: str) -> str:
        return json.dumps(_json_path(self._document(), path))

    def path(self, path: str) -> Any:
        return _json_path(self._document(), path)

    def params(self, name: str | None = None) -> Any:
        """All parameters by kind, or one searched in path, query string, then header."""
        if name is None:
            return self._params
        for kind in ("path", "querystring", "header"):
            if name in self._params.get(kind, {}):
                return self._params[kind][name]
        return ""


@dataclass
class Caller:
    """Who is calling, as API Gateway fills ``$context.identity`` and ``$context.authorizer``."""

    user_arn: str = ""
    api_key_id: str = ""
    principal_id: str = ""
    claims: dict[str, str] = field(default_factory=dict)


@dataclass
class Rendered:
    """A template's output and the overrides it set."""

    text: str
    status: int | None
    headers: dict[str, str]


REQUEST_ID = "c0ffee00-0000-4000-8000-000000000001"
REQUEST_TIME = "05/Mar/2024:07:08:09 +0000"
REQUEST_TIME_EPOCH = 1709622489042
REQUEST_TIME_ISO = "2024-03-05T07:08:09.042Z"
"""``$context.requestTime`` (CLF), ``requestTimeEpoch`` (ms), and the status table's spelling."""


def context(caller: Caller, *, request_id: str = REQUEST_ID) -> dict[str, Any]:
    return {
        "requestId": request_id,
        "requestTime": REQUEST_TIME,
        "requestTimeEpoch": REQUEST_TIME_EPOCH,
        "extendedRequestId": "ext-" + request_id,
        "identity": {
            "userArn": caller.user_arn,
            "caller": caller.user_arn.rsplit("/", 1)[-1],
            "user": caller.user_arn.rsplit("/", 1)[-1],
            "apiKeyId": caller.api_key_id,
            "sourceIp": "192.0.2.10",
        },
        "authorizer": {"principalId": caller.principal_id, "claims": dict(caller.claims)},
        "responseOverride": {"status": None, "header": {}},
        "error": {},
    }


@functools.lru_cache(maxsize=64)
def _compiled(template: str) -> airspeed.Template:
    """Parsing is the slow part; a template is parsed once per test session."""
    compiled = airspeed.Template(template)
    compiled.ensure_compiled()
    return compiled


def render(
    template: str,
    *,
    body: str = "",
    headers: dict[str, str] | None = None,
    path: dict[str, str] | None = None,
    caller: Caller | None = None,
) -> Rendered:
    """Render ``template`` as API Gateway would for one request (or integration response)."""
    params = {"path": dict(path or {}), "querystring": {}, "header": dict(headers or {})}
    ctx = context(caller or Caller())
    text = _compiled(template).merge({"input": Input(body, params), "util": Util(), "context": ctx})
    override = ctx["responseOverride"]
    status = int(override["status"]) if override["status"] is not None else None
    return Rendered(text, status, {k: str(v) for k, v in override["header"].items()})

"""What API Gateway decides about a frame, as plain functions: the route, and its own frames.

No sockets here: the connection core calls these, and the tests call them directly.

Route selection expressions, as AWS documents them (websocket-api-develop-routes,
apigateway-websocket-api-selection-expressions):

==================================================  ===============  ==========================
expression                                          for the frame    evaluates to
==================================================  ===============  ==========================
``$request.body.action``                            ``{"action": "join", "service": "chat"}``  ``join``
``${request.body.action}``                          the same         ``join``
``${request.body.service}/${request.body.action}``  the same         ``chat/join``
``${request.body.action}-${request.body.missing}``  the same         ``join-`` (not found: ``""``)
``action``                                          any              ``action`` (static)
``\\$default``                                       any              ``$default`` (escaped)
==================================================  ===============  ==========================

Any JSONPath after ``request.body`` (``.a.b``, ``[0]``, ``['a b']``); "the result will be
stringified": an array of two elements reads ``"[item1, item2]"``. A frame that is not JSON
evaluates every variable to ``""``. The route is the one whose key equals the result;
otherwise ``$default``; with no ``$default`` the client gets API Gateway's Forbidden frame.
``$connect`` and ``$disconnect`` are never selected for a message.

Sources: https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-develop-routes.html
and https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-selection-expressions.html
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from wsrelay.aws_facts import CONNECT_ROUTE, DEFAULT_ROUTE, DISCONNECT_ROUTE

__all__ = [
    "CLOSE_ABNORMAL",
    "CLOSE_DELETED",
    "CLOSE_GOING_AWAY",
    "CLOSE_INVALID_TEXT",
    "CLOSE_NO_STATUS",
    "CLOSE_TOO_BIG",
    "CLOSE_UNSUPPORTED",
    "DELETED_REASON",
    "SelectionExpression",
    "disconnect_reason",
    "gateway_error_frame",
    "select_route",
    "stringify",
]

# Close codes (RFC 6455 section 7.4.1). AWS documents none of the server-side ones; the
# choices are those of other emulators and are recorded in docs/local-gateway.md.
CLOSE_DELETED = 1000  #: DeleteConnection closed it
CLOSE_GOING_AWAY = 1001  #: idle timeout, maximum duration, or the gateway stopping
CLOSE_UNSUPPORTED = 1003  #: a binary frame
CLOSE_NO_STATUS = 1005  #: the client's close frame carried no code
CLOSE_ABNORMAL = 1006  #: the connection was lost without a close frame
CLOSE_INVALID_TEXT = 1007  #: a text message that is not UTF-8 (RFC 6455 section 8.1)
CLOSE_TOO_BIG = 1009  #: a frame over 32 KB or a message over 128 KB

#: ``disconnectReason`` after DeleteConnection, as API Gateway's execution log shows it
#: (https://github.com/aws/chalice/issues/2060).
DELETED_REASON = "Connection Closed Normally"
_REASONS = {
    CLOSE_NO_STATUS: "Client-side close frame status not set",  # a real capture (Powertools)
    CLOSE_ABNORMAL: "Connection closed abnormally",
}
_MESSAGE_ONLY = frozenset({CONNECT_ROUTE, DISCONNECT_ROUTE})


def disconnect_reason(code: int, reason: str = "") -> str:
    """The ``disconnectReason`` sent with a ``$disconnect`` for close ``code`` and ``reason``."""
    return reason or _REASONS.get(code, "")


# --- route selection ------------------------------------------------------------------------

#: ``.name``, ``[0]`` or ``['name']`` / ``["name"]`` after ``request.body``.
_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")
#: An unwrapped variable: letters, digits, ``_``, then JSONPath steps.
_UNWRAPPED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+|\[[^\]]*\])*")
_BODY = "request.body"

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class SelectionExpression:
    """A compiled route selection expression: static text and ``request.body`` paths.

    ``parts`` holds strings (static text) and tuples (a variable: the path after
    ``request.body``); ``None`` for a variable the body cannot hold (it evaluates to ``""``).
    """

    parts: tuple[str | Path | None, ...]

    @classmethod
    def compile(cls, text: str) -> SelectionExpression:
        """Parse ``text`` (once per text); never raises: what is not a variable is static."""
        return _compile(text)

    def evaluate(self, body: str) -> str:
        """The route key the expression gives for a frame's ``body`` (see the module doc)."""
        if all(isinstance(part, str) for part in self.parts):
            return "".join(part for part in self.parts if isinstance(part, str))
        try:
            data: Any = json.loads(body)
            parsed = True
        except ValueError:
            data, parsed = None, False
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            elif part is not None and parsed:
                found, value = _lookup(data, part)
                out.append(stringify(value) if found else "")
        return "".join(out)


@functools.cache
def _compile(text: str) -> SelectionExpression:
    parts: list[str | Path | None] = []
    static: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and text.startswith("$", i + 1):
            static.append("$")  # "\$default" is the static text "$default"
            i += 2
            continue
        if char == "$":
            if text.startswith("{", i + 1) and (end := text.find("}", i + 2)) != -1:
                name, i = text[i + 2 : end], end + 1
            elif match := _UNWRAPPED.match(text, i + 1):
                name, i = match.group(0), match.end()
            else:
                static.append(char)
                i += 1
                continue
            if static:
                parts.append("".join(static))
                static.clear()
            parts.append(_body_path(name))
            continue
        static.append(char)
        i += 1
    if static:
        parts.append("".join(static))
    return SelectionExpression(tuple(parts))


def _body_path(name: str) -> Path | None:
    """The JSONPath steps after ``request.body`` in a variable's name, or ``None``."""
    if name != _BODY and not name.startswith((_BODY + ".", _BODY + "[")):
        return None  # route selection reads the body only
    rest, pos = name[len(_BODY) :], 0
    steps: list[str | int] = []
    while pos < len(rest):
        match = _STEP.match(rest, pos)
        if match is None:
            return None
        key, index, single, double = match.groups()
        step: str | int = int(index) if index is not None else (key or single or double or "")
        steps.append(step)
        pos = match.end()
    return tuple(steps)


def _lookup(data: Any, path: Path) -> tuple[bool, Any]:
    for step in path:
        found = (
            step < len(data)
            if isinstance(data, list) and isinstance(step, int)
            else isinstance(data, dict) and isinstance(step, str) and step in data
        )
        if not found:
            return False, None
        data = data[step]
    return data is not None, data  # JSON null reads as not found: ""


def stringify(value: Any) -> str:
    """A JSON value as route selection stringifies it: ``[item1, item2]`` for an array.

    Strings are themselves, numbers and booleans their JSON text. AWS documents the array
    form only; an object follows the same (Java ``toString``) style: ``{a=1, b=2}``.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(stringify(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={stringify(v)}" for k, v in value.items()) + "}"
    if value is None:
        return "null"
    return json.dumps(value)


def select_route(expression: str, body: str, route_keys: Collection[str]) -> str | None:
    """Choose the route for a frame, as API Gateway does.

    ``expression`` is the API's route selection expression (any documented form, see the
    module docstring). Returns the route key, ``$default`` when no route matches, or
    ``None`` when no route matches and there is no ``$default``: the client then gets a
    Forbidden frame.
    """
    key = SelectionExpression.compile(expression).evaluate(body)
    if key in route_keys and key not in _MESSAGE_ONLY:
        return key
    return DEFAULT_ROUTE if DEFAULT_ROUTE in route_keys else None


def gateway_error_frame(message: str, connection_id: str, request_id: str) -> str:
    """The frame API Gateway itself sends: ``Forbidden`` or ``Internal server error``.

    Byte for byte as raw captures show it, with a space after the first colon only:
    ``{"message": "Internal server error", "connectionId":"…", "requestId":"…"}``
    (aws-samples/simple-websockets-chat-app#42 and #24, nearst/laconia#41).
    """
    return (
        f'{{"message": {json.dumps(message)}, "connectionId":{json.dumps(connection_id)}, '
        f'"requestId":{json.dumps(request_id)}}}'
    )

"""What API Gateway decides about a frame, as plain functions: limits, routes, error frames.

No sockets here: the server calls these, and the tests call them directly.

Sources:
- Route selection: https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-develop-routes.html
- Limits: https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

__all__ = [
    "CLOSE_ABNORMAL",
    "CLOSE_DELETED",
    "CLOSE_GOING_AWAY",
    "CLOSE_NO_STATUS",
    "CLOSE_TOO_BIG",
    "CLOSE_UNSUPPORTED",
    "MAX_FRAME_BYTES",
    "MAX_MESSAGE_BYTES",
    "disconnect_reason",
    "gateway_error_frame",
    "select_route",
]

#: A frame's payload may be at most 32 KB; a message (all its frames) at most 128 KB.
MAX_FRAME_BYTES = 32_768
MAX_MESSAGE_BYTES = 131_072

# Close codes (RFC 6455 section 7.4.1). AWS documents none of the server-side ones; the
# choices are those of other emulators and are recorded in docs/local-gateway.md.
CLOSE_DELETED = 1000  #: DeleteConnection closed it
CLOSE_GOING_AWAY = 1001  #: idle timeout, maximum duration, or the gateway stopping
CLOSE_UNSUPPORTED = 1003  #: a binary frame
CLOSE_NO_STATUS = 1005  #: the client's close frame carried no code
CLOSE_NOT_READING = 1008  #: the client stopped reading; its backlog passed the limit
CLOSE_ABNORMAL = 1006  #: the connection was lost without a close frame
CLOSE_TOO_BIG = 1009  #: a frame over 32 KB or a message over 128 KB

_REASONS = {
    CLOSE_NO_STATUS: "Client-side close frame status not set",  # as AWS sends it (real capture)
    CLOSE_ABNORMAL: "Connection closed abnormally",
    CLOSE_GOING_AWAY: "Going away",
}


def disconnect_reason(code: int, client_reason: str = "") -> str:
    """The ``disconnectReason`` sent with a ``$disconnect`` for close ``code``."""
    if client_reason:
        return client_reason
    return _REASONS.get(code, "")


def _lookup(data: Any, path: list[str]) -> Any:
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def select_route(expression: str, body: str, route_keys: Collection[str]) -> str | None:
    """Choose the route for a frame, as API Gateway does.

    ``expression`` is the API's route selection expression, such as ``$request.body.action``
    (dotted paths select nested keys). The selected value is stringified; a frame that is not
    JSON, lacks the key, or names no route goes to ``$default``. Returns ``None`` when no
    route matches and there is no ``$default``: the client then gets a Forbidden frame.
    """
    prefix = "$request.body."
    value: Any = None
    if expression.startswith(prefix):
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        value = _lookup(data, expression[len(prefix) :].split("."))
    if value is not None and not isinstance(value, dict | list):
        key = value if isinstance(value, str) else json.dumps(value)
        if key in route_keys and not key.startswith("$"):
            return key
    return "$default" if "$default" in route_keys else None


def gateway_error_frame(message: str, connection_id: str, request_id: str) -> str:
    """The frame API Gateway itself sends: ``Forbidden`` or ``Internal server error``.

    Shape from user reports (AWS does not document it), e.g.
    https://repost.aws/questions/QU5KFS5sW9TrCNDpXgypE4LQ
    """
    return json.dumps({"message": message, "connectionId": connection_id, "requestId": request_id})
